from __future__ import annotations

import logging

from bff.runtime.logs import MaskAccessQuery, UTCFormatter, log_format, masked_path


def test_access_paths_keep_parameter_names_and_plain_values_but_mask_the_rest() -> None:
    # when
    shown = masked_path(
        "/wechat/push?signature=0123456789abcdef&timestamp=1714036504&openid=oUSER_openid_example"
    )

    # then
    assert shown == "/wechat/push?signature=0123…(16)&timestamp=1714036504&openid=oUSE…(20)"


def test_paths_without_a_query_are_logged_as_they_are() -> None:
    assert masked_path("/graphql") == "/graphql"


def test_an_access_line_is_formatted_with_the_process_name_and_a_masked_query() -> None:
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
    MaskAccessQuery().filter(record)
    line = UTCFormatter(log_format("web")).format(record)

    # then
    assert line.startswith("1970-01-01T00:00:00.250Z INFO web[")
    assert line.endswith('uvicorn.access: 127.0.0.1:5000 - "POST /wechat/push?openid=oUSE…(20) HTTP/1.1" 200')
