"""The 服务通知 page of /sandbox/inbox/page."""

from __future__ import annotations

from tests.wxsandbox.conftest import SHIPPED, Harness, shipped_data

USER = "oPAGE_user_00000000000000001"


async def test_page_shows_a_sent_notice_as_a_card_with_values_escaped(sandbox: Harness) -> None:
    # given a notice whose values carry markup
    await sandbox.user(USER, **{SHIPPED: "accept"})
    body = {
        "touser": USER,
        "template_id": SHIPPED,
        "page": "pages/order/detail?orderNo=1&x=<y>",
        "data": shipped_data(thing2='<i>燕麦</i>&"x"'),
    }
    assert (await sandbox.send(await sandbox.token(), body))["errcode"] == 0
    # when
    response = await sandbox.client.get("/sandbox/inbox/page")
    # then
    html = response.text
    assert response.headers["content-type"].startswith("text/html")
    assert '<meta http-equiv="refresh" content="2">' in html
    assert "订单发货通知" in html
    assert '<span class="label">商品名称</span><span>&lt;i&gt;燕麦&lt;/i&gt;&amp;&quot;x&quot;</span>' in html
    assert "<i>" not in html
    assert "订单编号" in html and "SO20260101000001" in html
    assert "进入小程序查看" in html
    assert "pages/order/detail?orderNo=1&amp;x=&lt;y&gt;" in html
    assert USER in html


async def test_page_filters_by_user_and_says_when_nothing_arrived(sandbox: Harness) -> None:
    # given
    await sandbox.user(USER, **{SHIPPED: "accept"})
    await sandbox.send(
        await sandbox.token(), {"touser": USER, "template_id": SHIPPED, "data": shipped_data()}
    )
    # when
    other = (await sandbox.client.get("/sandbox/inbox/page", params={"openid": "oSomeoneElse"})).text
    mine = (await sandbox.client.get("/sandbox/inbox/page", params={"openid": USER})).text
    # then
    assert "no notices delivered yet" in other
    assert "订单发货通知" in mine


async def test_sandbox_root_redirects_to_the_page(sandbox: Harness) -> None:
    # when
    response = await sandbox.client.get("/sandbox/")
    # then
    assert response.status_code == 307
    assert response.headers["location"] == "/sandbox/inbox/page"
