from __future__ import annotations

import logging

from bff.runtime.logs import StripAccessQuery, UTCFormatter, log_format


def test_an_access_line_is_formatted_with_the_process_name_and_no_query() -> None:
    # given uvicorn's access record
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/wechat/push?openid=oUSER_openid_example", "1.1", 200),
        None,
    )
    record.created = 0.25
    record.msecs = 250

    # when
    StripAccessQuery().filter(record)
    line = UTCFormatter(log_format("web")).format(record)

    # then
    assert line.startswith("1970-01-01T00:00:00.250Z INFO web[")
    assert line.endswith('uvicorn.access: 127.0.0.1:5000 - "POST /wechat/push HTTP/1.1" 200')
