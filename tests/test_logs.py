from __future__ import annotations

import json
import logging
import sys

import pytest

from bff.runtime.logs import JSONFormatter, MaskOpenids, StripAccessQuery, UTCFormatter, log_format


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


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("lvyue.test", logging.WARNING, __file__, 1, message, args or None, None)
    made.created = 0.25
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_a_json_line_carries_time_level_process_logger_message_and_the_extra_fields() -> None:
    # given a record with fields passed by the code, one of them an openid, one a secret
    made = record(
        "sent %d notices", 3, order_no="SO1", openid="oUSER_openid_example_0001", access_token="t0k3n"
    )

    # when it is formatted as JSON
    entry = json.loads(JSONFormatter("worker").format(made))

    # then it is one object with the fields, the openid masked and the secret withheld
    assert entry == {
        "ts": "1970-01-01T00:00:00Z",
        "level": "WARNING",
        "process": "worker",
        "pid": made.process,
        "logger": "lvyue.test",
        "message": "sent 3 notices",
        "order_no": "SO1",
        "openid": "oUSE…(25)",
        "access_token": "***",
    }


def test_a_json_line_keeps_the_traceback_on_its_one_line() -> None:
    try:
        raise ValueError("no notice for oUSER_openid_example_0001")
    except ValueError:
        made = record("failed")
        made.exc_info = sys.exc_info()

    line = JSONFormatter("web").format(made)

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["exc"].startswith("Traceback") and "ValueError: no notice for oUSE…(25)" in entry["exc"]


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("login of oUSER_openid_example_0001 failed", "login of oUSE…(25) failed"),
        ("openid=oDEMO_user_0000000000000001&x=1", "openid=oDEM…(27)&x=1"),
        # long words without digits, and masked openids, are left alone
        ("offers_recommendation_refresh done", "offers_recommendation_refresh done"),
        ("to oUSE…(25)", "to oUSE…(25)"),
    ],
)
def test_anything_shaped_like_an_openid_is_masked_in_messages(message: str, shown: str) -> None:
    made = record("%s", message)

    MaskOpenids().filter(made)

    assert made.getMessage() == shown
