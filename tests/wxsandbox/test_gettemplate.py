"""getTemplateList (wechat-platform.md §8.1)."""

from __future__ import annotations

from tests.wxsandbox.conftest import REMINDER, ROOM, SHIPPED, Harness


async def test_template_list_has_wechats_shape(sandbox: Harness) -> None:
    # given
    token = await sandbox.token()
    # when
    answer = (await sandbox.client.get("/wxaapi/newtmpl/gettemplate", params={"access_token": token})).json()
    # then
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok"
    by_id = {entry["priTmplId"]: entry for entry in answer["data"]}
    shipped = by_id[SHIPPED]
    assert shipped["title"] == "订单发货通知"
    assert shipped["type"] == 2
    assert shipped["content"].startswith("订单编号:{{character_string1.DATA}}\n")
    assert shipped["example"].splitlines()[0].startswith("订单编号:")
    assert len(shipped["example"].splitlines()) == 4
    assert "keywordEnumValueList" not in shipped
    assert by_id[ROOM]["type"] == 3
    assert by_id[ROOM]["keywordEnumValueList"] == [
        {"keywordCode": "enum_string2.DATA", "enumValueList": ["客厅", "书房"]}
    ]
    assert by_id[REMINDER]["example"] == "商品名称:示例内容\n提醒状态:已发货\n"


async def test_template_list_refuses_post(sandbox: Harness) -> None:
    # given
    token = await sandbox.token()
    # when
    answer = (await sandbox.client.post("/wxaapi/newtmpl/gettemplate", params={"access_token": token})).json()
    # then
    assert answer["errcode"] == 404


def test_every_example_value_passes_its_keyword_rule() -> None:
    # given a template with one keyword of every kind WeChat knows
    from bff.catalog.templates_file import TemplateConfig
    from bff.wechat.keywords import KINDS, keyword_rule_violation
    from wxsandbox.templates import from_template_config

    kinds = sorted(KINDS - {"enum_string"})
    content = "".join(f"项{index}:{{{{{kind}{index}.DATA}}}}\n" for index, kind in enumerate(kinds, start=1))
    config = TemplateConfig(
        template_id="T", title="t", type=2, content=content, topics=(), page="", data={}, enum_values={}
    )
    template = from_template_config(config)
    # when
    example_values = [line.split(":", 1)[1] for line in template.example().splitlines()]
    # then
    for keyword, value in zip(template.keywords, example_values, strict=True):
        assert keyword_rule_violation(keyword.kind, value) is None, (keyword.kind, value)
