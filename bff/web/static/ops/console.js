// The operators' console: asks POST /ops/graphql (OPS_API.graphql) with the ops key as a bearer
// token and draws what it answers. The key stays in this tab's sessionStorage; a 401 clears it
// and brings the login form back. Every text goes in through textContent (never innerHTML).
// Each GraphQL document is one self-contained template literal without interpolation, so that
// tests/web/test_ops_console.py can validate every one against the ops schema.
"use strict";

(function () {
  const KEY_STORE = "lvyue.ops.key";
  const ENDPOINT = "/ops/graphql";
  const MAX_RANGE_DAYS = 366;
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const TOPICS = boot.topics || {};
  const TZ = boot.timeZone || undefined;

  const STATUS = {
    PLANNED: "待规划", SCHEDULED: "已排期", QUEUED: "排队中", SENDING: "发送中",
    SENT: "已发送", SUPPRESSED: "未发送", FAILED: "失败",
  };
  const REASONS = {
    EXPIRED: "已过期", MAIN_SWITCH_OFF: "总开关关闭", TOPIC_OFF: "用户关闭该主题", TEMPLATE_BANNED: "模板被拒收",
    ORDER_CANCELLED: "订单已取消", SUPERSEDED: "已被后续节点取代", ANSWERED: "用户已处理", NO_UNITS: "无订阅次数",
    SAVED_FOR_HIGHER_PRIORITY: "留给更重要的消息", WEEKLY_LIMIT: "超出每周上限", EXPERIMENT_HOLDOUT: "实验对照组",
    QUIET_HOURS: "免打扰时段", BEST_HOUR: "等待最佳时段",
  };
  // bff/consent/alerts.py AlertKind
  const ALERT_KINDS = {
    BAN: "用户拒收模板", FILTER: "模板被过滤（配置错误）", TEMPLATE_STOPPED: "模板已停用",
    DAILY_API_LIMIT: "当日接口调用已达上限", CREDENTIALS: "凭证错误",
  };
  // OpsUserError codes (resend refusals), also what resendBlockedBecause may carry
  const BLOCKED = {
    ALREADY_SENT: "已发送过", NOT_FAILED: "不是失败状态", NO_UNIT: "用户已无订阅次数",
    REASON_FORBIDS: "失败原因不允许重发", EXPIRED: "消息已过期", NOT_FOUND: "找不到该消息",
    NOT_RETRYABLE: "不可重试",
  };

  // ---- small helpers --------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    }
    return node;
  }

  const dash = "—";
  const int = (n) => (n === null || n === undefined ? dash : Number(n).toLocaleString("zh-CN"));
  const pct = (r, digits = 1) => (r === null || r === undefined ? dash : `${(r * 100).toFixed(digits)}%`);
  const signedPts = (d) => (d === null || d === undefined ? "" : `${d >= 0 ? "+" : "−"}${Math.abs(d * 100).toFixed(1)}`);
  const topicName = (t) => (TOPICS[t] ? `${TOPICS[t]}` : t);
  const reasonName = (r) => (r ? REASONS[r] || r : "");
  const minutes = (m) => {
    if (m === null || m === undefined) return dash;
    if (m < 60) return `${m.toFixed(0)} 分钟`;
    if (m < 48 * 60) return `${(m / 60).toFixed(1)} 小时`;
    return `${(m / 1440).toFixed(1)} 天`;
  };
  function when(iso) {
    if (!iso) return dash;
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return d.toLocaleString("zh-CN", { timeZone: TZ, hour12: false, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  }

  function table(el, headers, rows, empty) {
    const head = h("tr", {}, headers.map((c) => (typeof c === "string" ? h("th", {}, c) : h("th", { class: c.cls }, c.text))));
    const body = rows.length ? rows : [h("tr", {}, h("td", { class: "empty", colspan: headers.length }, empty || "暂无数据"))];
    el.replaceChildren(h("thead", {}, head), h("tbody", {}, body));
  }

  function show(el, text, kind) {
    el.textContent = text || "";
    el.hidden = !text;
    el.classList.toggle("error", kind === "error");
    el.classList.toggle("ok", kind === "ok");
  }

  function addDays(iso, days) {
    const d = new Date(`${iso}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }
  const daysBetween = (a, b) => Math.round((new Date(`${b}T00:00:00Z`) - new Date(`${a}T00:00:00Z`)) / 86400000);

  const userError = (e) => `${BLOCKED[e.code] || e.message}（${e.code}）`;

  // ---- the API ---------------------------------------------------------------------------------

  class Unauthorized extends Error {}

  let loggingOut = false;

  async function gql(query, variables) {
    const key = sessionStorage.getItem(KEY_STORE);
    if (!key) throw new Unauthorized("请先登录");
    let response;
    try {
      response = await fetch(ENDPOINT, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables: variables || {} }),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (err) {
      throw new Error(`无法连接服务器：${err.message}`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new Unauthorized("运营密钥无效或已失效，请重新登录。");
    }
    let answer = null;
    try {
      answer = await response.json();
    } catch (err) {
      answer = null;
    }
    const messages = answer && Array.isArray(answer.errors) ? answer.errors.map((e) => e.message) : [];
    if (response.status === 503) throw new Error(`运营接口未启用：${messages.join("；") || "服务不可用"}`);
    if (!response.ok) throw new Error(`请求失败（HTTP ${response.status}）${messages.length ? "：" + messages.join("；") : ""}`);
    if (messages.length) throw new Error(messages.join("；"));
    return answer.data;
  }

  // Runs one section's load; a 401 anywhere brings the login back, other errors stay in the section.
  async function guarded(messageEl, work) {
    try {
      await work();
      if (messageEl) show(messageEl, "");
      return true;
    } catch (err) {
      if (err instanceof Unauthorized) {
        logout(err.message);
      } else if (messageEl) {
        show(messageEl, err.message, "error");
      }
      return false;
    }
  }

  // ---- login -----------------------------------------------------------------------------------

  function showLogin(message) {
    $("console-view").hidden = true;
    $("session").hidden = true;
    $("login-view").hidden = false;
    show($("login-message"), message, "error");
    $("ops-key").value = "";
    $("ops-key").focus();
  }

  function logout(message) {
    if (loggingOut) return;
    loggingOut = true;
    sessionStorage.removeItem(KEY_STORE);
    showLogin(message);
    loggingOut = false;
  }

  const OPERATOR = `query Operator { operator { name } }`;

  async function start() {
    try {
      const data = await gql(OPERATOR);
      $("operator-name").textContent = data.operator.name;
    } catch (err) {
      if (err instanceof Unauthorized) {
        logout(err.message);
      } else {
        sessionStorage.removeItem(KEY_STORE);
        showLogin(err.message);
      }
      return;
    }
    $("login-view").hidden = true;
    $("console-view").hidden = false;
    $("session").hidden = false;
    loadAll();
  }

  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("ops-key").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORE, key);
    start();
  });
  $("logout").addEventListener("click", () => logout(""));

  // ---- date range ------------------------------------------------------------------------------

  function range() {
    return { from: $("range-from").value, to: $("range-to").value };
  }

  function setRange(days) {
    $("range-to").value = boot.today;
    $("range-from").value = addDays(boot.today, -(days - 1));
  }

  function rangeProblem({ from, to }) {
    if (!from || !to) return "请选择开始和结束日期。";
    if (from > to) return "开始日期不能晚于结束日期。";
    if (daysBetween(from, to) + 1 > MAX_RANGE_DAYS) return `日期范围不能超过 ${MAX_RANGE_DAYS} 天。`;
    return "";
  }

  $("range-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadRanged();
  });
  document.querySelectorAll("[data-days]").forEach((button) =>
    button.addEventListener("click", () => {
      setRange(Number(button.dataset.days));
      loadRanged();
    }),
  );

  function loadAll() {
    loadRanged();
    guarded($("alerts-message"), loadAlerts);
    guarded($("commands-message"), loadCommands);
    guarded($("search-message"), () => searchNotices(false));
    loadPresale();
    loadExperiments();
  }

  function loadRanged() {
    const r = range();
    const problem = rangeProblem(r);
    show($("range-message"), problem, "error");
    if (problem) return;
    guarded($("kpis-message"), () => loadKpis(r));
    guarded(null, () => loadInventory(r).catch((err) => failSection("inventory-table", err)));
    guarded(null, () => loadRegions(r).catch((err) => failSection("region-table", err)));
  }

  function failSection(tableId, err) {
    if (err instanceof Unauthorized) throw err;
    table($(tableId), ["错误"], [h("tr", {}, h("td", { class: "empty error" }, err.message))]);
  }

  // ---- KPIs and charts -------------------------------------------------------------------------

  const KPIS = `
    query Kpis($from: Date!, $to: Date!) {
      kpis(from: $from, to: $to) {
        from to
        outcomes {
          planned sent suppressed failed opened openRate
          suppressedByReason { key count }
          failedByErrcode { key count }
        }
        byDay { day outcomes { planned sent suppressed failed opened openRate } }
        repurchase { windowDays opened { numerator denominator rate } holdout { numerator denominator rate } lift pValue }
        nps { responses promoters passives detractors score }
        onTimeDelivery { numerator denominator rate }
        fillRate { numerator denominator rate }
        exceptionResponse { raised decidedByUser decidedByDefault open medianMinutes p90Minutes }
      }
    }`;

  function tile(name, value, sub) {
    const el = document.querySelector(`[data-kpi="${name}"]`);
    el.querySelector(".value").textContent = value;
    el.querySelector(".sub").textContent = sub || "";
    el.dataset.state = "ready";
  }

  async function loadKpis(r) {
    document.querySelectorAll("[data-kpi]").forEach((el) => (el.dataset.state = "loading"));
    const k = (await gql(KPIS, r)).kpis;
    const o = k.outcomes;
    tile("sent", int(o.sent), `计划 ${int(o.planned)} · 未发送 ${int(o.suppressed)} · 失败 ${int(o.failed)}`);
    tile("openRate", pct(o.openRate), `已打开 ${int(o.opened)} / 已发送 ${int(o.sent)}`);
    const r7 = k.repurchase.find((x) => x.windowDays === 7);
    if (r7) {
      const vs = r7.holdout ? ` · 对照组 ${pct(r7.holdout.rate)}${r7.lift !== null ? `（${signedPts(r7.lift)} 个百分点）` : ""}` : "";
      tile("repurchase7", pct(r7.opened.rate), `${int(r7.opened.numerator)} / ${int(r7.opened.denominator)} 位打开用户${vs}`);
    } else {
      tile("repurchase7", dash, "");
    }
    const nps = k.nps;
    tile("nps", nps.score === null ? dash : nps.score.toFixed(0), `推荐 ${nps.promoters} · 中立 ${nps.passives} · 贬损 ${nps.detractors}（共 ${nps.responses} 条评价）`);
    tile("onTime", pct(k.onTimeDelivery.rate), `${int(k.onTimeDelivery.numerator)} / ${int(k.onTimeDelivery.denominator)} 单按承诺送达`);
    tile("fillRate", pct(k.fillRate.rate), `${int(k.fillRate.numerator)} / ${int(k.fillRate.denominator)} 单无缺货`);
    const ex = k.exceptionResponse;
    tile("exceptionResponse", minutes(ex.medianMinutes), `P90 ${minutes(ex.p90Minutes)} · 共 ${ex.raised} 起，用户处理 ${ex.decidedByUser}，默认处理 ${ex.decidedByDefault}，未决 ${ex.open}`);

    const labels = k.byDay.map((d) => d.day);
    window.LvyueCharts.stackedBars($("chart-outcomes"), {
      label: "每日发送结果",
      labels,
      series: [
        { name: "已发送", color: "#07c160", values: k.byDay.map((d) => d.outcomes.sent) },
        { name: "未发送", color: "#afb8c1", values: k.byDay.map((d) => d.outcomes.suppressed) },
        { name: "失败", color: "#cf222e", values: k.byDay.map((d) => d.outcomes.failed) },
      ],
    });
    window.LvyueCharts.line($("chart-open-rate"), { label: "打开率", labels, values: k.byDay.map((d) => d.outcomes.openRate) });
    $("chart-outcomes").dataset.state = "ready";
    $("chart-open-rate").dataset.state = "ready";

    table(
      $("suppressed-table"),
      ["原因", { text: "条数", cls: "num" }],
      o.suppressedByReason.map((c) => h("tr", {}, h("td", { title: c.key }, reasonName(c.key)), h("td", { class: "num" }, int(c.count)))),
      "没有未发送的消息",
    );
    table(
      $("failed-table"),
      ["微信错误码", { text: "条数", cls: "num" }],
      o.failedByErrcode.map((c) => h("tr", {}, h("td", {}, c.key), h("td", { class: "num" }, int(c.count)))),
      "没有发送失败的消息",
    );
  }

  // ---- consent inventory -----------------------------------------------------------------------

  const INVENTORY = `
    query Inventory($from: Date!, $to: Date!) {
      consentInventory(from: $from, to: $to) {
        templateId title topics usersWithUnits unitsOutstanding suppressedNoUnits
        history { day accepts rejects bans }
      }
    }`;

  async function loadInventory(r) {
    const rows = (await gql(INVENTORY, r)).consentInventory;
    const sum = (t, key) => t.history.reduce((s, d) => s + d[key], 0);
    table(
      $("inventory-table"),
      ["模板", "主题", { text: "有授权用户", cls: "num" }, { text: "剩余次数", cls: "num" }, { text: "同意", cls: "num" },
        { text: "拒绝", cls: "num" }, { text: "退订（总是拒绝）", cls: "num" }, { text: "缺授权未发送", cls: "num" }],
      rows.map((t) =>
        h("tr", { "data-template": t.templateId },
          h("td", { title: t.templateId }, t.title || t.templateId),
          h("td", {}, t.topics.map(topicName).join("、")),
          h("td", { class: "num" }, int(t.usersWithUnits)),
          h("td", { class: "num" }, int(t.unitsOutstanding)),
          h("td", { class: "num" }, int(sum(t, "accepts"))),
          h("td", { class: "num" }, int(sum(t, "rejects"))),
          h("td", { class: "num" }, int(sum(t, "bans"))),
          h("td", { class: "num" }, int(t.suppressedNoUnits)),
        ),
      ),
    );
    $("inventory-table").dataset.state = "ready";
  }

  // ---- region × topic --------------------------------------------------------------------------

  const REGIONS = `
    query Regions($from: Date!, $to: Date!) {
      regionalInsight(from: $from, to: $to) {
        cells { region topic sent openRate openRateDiff openPValue repurchaseRate repurchaseRateDiff significant }
        forwardWarehouseCandidates { region topic sent openRate openRateDiff openPValue repurchaseRate }
      }
    }`;

  const regionName = (r) => r || "未知地区";

  async function loadRegions(r) {
    const insight = (await gql(REGIONS, r)).regionalInsight;
    const regions = [...new Set(insight.cells.map((c) => c.region))].sort();
    const topics = [...new Set(insight.cells.map((c) => c.topic))].sort();
    const at = new Map(insight.cells.map((c) => [`${c.region}\u0000${c.topic}`, c]));
    const rows = regions.map((region) =>
      h("tr", {},
        h("th", {}, regionName(region)),
        topics.map((topic) => {
          const c = at.get(`${region}\u0000${topic}`);
          if (!c) return h("td", {}, dash);
          const cls = c.significant ? (c.openRateDiff >= 0 ? "sig-up" : "sig-down") : "";
          const title = `${regionName(region)} · ${topicName(topic)}\n发送 ${c.sent}，打开率 ${pct(c.openRate)}（${signedPts(c.openRateDiff)} 个百分点），p = ${c.openPValue === null ? dash : c.openPValue.toPrecision(2)}\n30天复购 ${pct(c.repurchaseRate)}（${signedPts(c.repurchaseRateDiff)}）`;
          return h("td", { class: cls, title, "data-significant": c.significant ? "true" : "false" },
            pct(c.openRate), c.openRateDiff === null ? "" : ` (${signedPts(c.openRateDiff)})`);
        }),
      ),
    );
    table($("region-table"), ["地区", ...topics.map(topicName)], rows, "所选日期内没有按地区的发送");
    table(
      $("warehouse-table"),
      ["地区", "主题", { text: "发送", cls: "num" }, { text: "打开率", cls: "num" }, { text: "高于整体", cls: "num" }, { text: "p 值", cls: "num" }],
      insight.forwardWarehouseCandidates.map((c) =>
        h("tr", {},
          h("td", {}, regionName(c.region)), h("td", {}, topicName(c.topic)), h("td", { class: "num" }, int(c.sent)),
          h("td", { class: "num" }, pct(c.openRate)), h("td", { class: "num" }, `${signedPts(c.openRateDiff)} 个百分点`),
          h("td", { class: "num" }, c.openPValue === null ? dash : c.openPValue.toPrecision(2)),
        ),
      ),
      "暂无显著高于整体的时效类主题区域",
    );
    $("region-table").dataset.state = "ready";
  }

  // ---- presale and experiments -----------------------------------------------------------------

  const PRESALE = `
    query Presale {
      presaleSuggestions {
        skuCode name opens progressSubscribers ordersPlaced unitsOrdered earlierPresales
        suggestedQuantity low high method
      }
    }`;

  function loadPresale() {
    return guarded(null, async () => {
      try {
        const rows = (await gql(PRESALE)).presaleSuggestions;
        table(
          $("presale-table"),
          ["SKU", { text: "打开", cls: "num" }, { text: "订阅进度", cls: "num" }, { text: "订单", cls: "num" },
            { text: "件数", cls: "num" }, { text: "建议首产量", cls: "num" }, { text: "区间", cls: "num" }],
          rows.map((s) =>
            h("tr", { "data-sku": s.skuCode },
              h("td", { title: s.skuCode }, s.name ? `${s.name}（${s.skuCode}）` : s.skuCode),
              h("td", { class: "num" }, int(s.opens)), h("td", { class: "num" }, int(s.progressSubscribers)),
              h("td", { class: "num" }, int(s.ordersPlaced)), h("td", { class: "num" }, int(s.unitsOrdered)),
              h("td", { class: "num" }, h("b", {}, int(s.suggestedQuantity))),
              h("td", { class: "num", title: `参考 ${s.earlierPresales} 个往期预售` }, `${int(s.low)} – ${int(s.high)}`),
            ),
          ),
          "暂无预售商品",
        );
        $("presale-method").textContent = rows.length ? `方法：${rows[0].method}` : "";
        $("presale-table").dataset.state = "ready";
      } catch (err) {
        failSection("presale-table", err);
      }
    });
  }

  const EXPERIMENTS = `
    query Experiments {
      experiments {
        key topic winner why
        variants {
          name holdout assigned sends opens openRate
          repurchase { windowDays matured repurchased lift { lift z pValue } }
        }
      }
    }`;

  function loadExperiments() {
    return guarded(null, async () => {
      const box = $("experiments");
      try {
        const experiments = (await gql(EXPERIMENTS)).experiments;
        if (!experiments.length) {
          box.replaceChildren(h("p", { class: "hint" }, "没有进行中的实验"));
          return;
        }
        box.replaceChildren(
          ...experiments.map((e) => {
            const t = h("table", { class: "data" });
            table(
              t,
              ["方案", { text: "分配", cls: "num" }, { text: "发送", cls: "num" }, { text: "打开率", cls: "num" },
                { text: "7天复购", cls: "num" }, { text: "30天复购", cls: "num" }],
              e.variants.map((v) => {
                const rep = (days) => {
                  const x = v.repurchase.find((w) => w.windowDays === days);
                  if (!x) return dash;
                  const rate = x.matured ? pct(x.repurchased / x.matured) : dash;
                  return x.lift ? `${rate}（${signedPts(x.lift.lift)}，p=${x.lift.pValue.toPrecision(2)}）` : rate;
                };
                return h("tr", { class: e.winner === v.name ? "winner" : "" },
                  h("td", {}, v.holdout ? `${v.name}（对照）` : v.name),
                  h("td", { class: "num" }, int(v.assigned)), h("td", { class: "num" }, int(v.sends)),
                  h("td", { class: "num" }, pct(v.openRate)), h("td", { class: "num" }, rep(7)), h("td", { class: "num" }, rep(30)),
                );
              }),
            );
            return h("div", { class: "experiment", "data-experiment": e.key },
              h("h3", {}, `${e.key} · ${topicName(e.topic)}`),
              t,
              h("p", { class: "hint" }, e.winner ? h("span", { class: "winner" }, `胜出：${e.winner}。`) : "暂无胜出方案。", e.why),
            );
          }),
        );
      } catch (err) {
        if (err instanceof Unauthorized) throw err;
        box.replaceChildren(h("p", { class: "message error" }, err.message));
      }
      box.dataset.state = "ready";
    });
  }

  // ---- alerts ----------------------------------------------------------------------------------

  const ALERTS = `
    query Alerts($all: Boolean) {
      alerts(includeAcknowledged: $all, first: 50) {
        nodes { id kind templateId userMasked count firstSeenAt lastSeenAt acknowledgedAt acknowledgedBy }
      }
    }`;
  const ACKNOWLEDGE = `
    mutation Acknowledge($id: ID!) {
      acknowledgeAlert(id: $id) {
        alert { id acknowledgedAt acknowledgedBy }
        userErrors { code message }
      }
    }`;

  async function loadAlerts() {
    const alerts = (await gql(ALERTS, { all: $("alerts-all").checked })).alerts.nodes;
    table(
      $("alerts-table"),
      ["类型", "模板", "用户", { text: "次数", cls: "num" }, "首次", "最近", "状态"],
      alerts.map((a) =>
        h("tr", { "data-alert": a.id },
          h("td", { title: a.kind }, ALERT_KINDS[a.kind] || a.kind),
          h("td", {}, a.templateId || dash),
          h("td", {}, a.userMasked || dash),
          h("td", { class: "num" }, int(a.count)),
          h("td", {}, when(a.firstSeenAt)),
          h("td", {}, when(a.lastSeenAt)),
          h("td", {}, a.acknowledgedAt
            ? `已由 ${a.acknowledgedBy || "?"} 于 ${when(a.acknowledgedAt)} 确认`
            : h("button", { type: "button", class: "ack", onclick: (ev) => acknowledge(a.id, ev.currentTarget) }, "确认")),
        ),
      ),
      "没有待处理的告警",
    );
    $("alerts-table").dataset.state = "ready";
  }

  async function acknowledge(id, button) {
    button.disabled = true;
    await guarded($("alerts-message"), async () => {
      const payload = (await gql(ACKNOWLEDGE, { id })).acknowledgeAlert;
      if (payload.userErrors.length) {
        button.disabled = false;
        throw new Error(`确认失败：${payload.userErrors.map(userError).join("；")}`);
      }
      await loadAlerts();
    });
  }

  $("alerts-all").addEventListener("change", () => guarded($("alerts-message"), loadAlerts));

  // ---- supply-chain commands -------------------------------------------------------------------

  const COMMANDS = `
    query Commands($status: String) {
      commands(status: $status, first: 50) { nodes { id type orderNo status attempts lastStatusCode lastError nextAttemptAt createdAt failedAt } }
    }`;
  const RETRY = `
    mutation Retry($id: ID!) {
      retryCommand(id: $id) { command { id type orderNo status attempts lastStatusCode lastError nextAttemptAt createdAt failedAt } userErrors { code message } }
    }`;

  async function loadCommands() {
    const status = $("commands-status").value || null;
    const commands = (await gql(COMMANDS, { status })).commands.nodes;
    table(
      $("commands-table"),
      ["#", "类型", "订单号", "状态", { text: "尝试", cls: "num" }, "最后错误", "创建", "失败于", "操作"],
      commands.map((c) =>
        h("tr", { "data-command": c.id, "data-status": c.status },
          h("td", { class: "num" }, c.id), h("td", {}, c.type), h("td", {}, c.orderNo),
          h("td", {}, h("span", { class: `status ${c.status}` }, c.status)),
          h("td", { class: "num" }, c.attempts),
          h("td", { title: c.lastError || "" }, [c.lastStatusCode ? `HTTP ${c.lastStatusCode}` : "", (c.lastError || "").slice(0, 60)].filter(Boolean).join(" ") || dash),
          h("td", {}, when(c.createdAt)), h("td", {}, when(c.failedAt)),
          h("td", {}, c.status === "FAILED"
            ? h("button", { type: "button", class: "retry", onclick: (ev) => retryCommand(c.id, ev.currentTarget) }, "重试")
            : ""),
        ),
      ),
      "没有符合条件的指令",
    );
    $("commands-table").dataset.state = "ready";
  }

  async function retryCommand(id, button) {
    button.disabled = true;
    const message = $("commands-message");
    const ok = await guarded(message, async () => {
      const payload = (await gql(RETRY, { id })).retryCommand;
      if (payload.userErrors.length) {
        throw new Error(`重试失败：${payload.userErrors.map(userError).join("；")}`);
      }
      await loadCommands();
    });
    if (ok) show(message, `指令 #${id} 已重新排队。`, "ok");
    else if (button.isConnected) button.disabled = false;
  }

  $("commands-status").addEventListener("change", () => guarded($("commands-message"), loadCommands));

  // ---- notice search and resend ----------------------------------------------------------------

  const NOTICES = `
    query Notices($filter: NoticeFilter, $after: String) {
      notices(filter: $filter, first: 20, after: $after) {
        nodes { ...OpsNoticeRow }
        endCursor hasNextPage
      }
    }
    fragment OpsNoticeRow on OpsNotice {
      id userId openidMasked orderNo topic templateId status reason errcode attempts
      createdAt sentAt openedAt canResend resendBlockedBecause
    }`;
  const RESEND = `
    mutation Resend($id: ID!) {
      resendNotice(id: $id) {
        notice { ...OpsNoticeRow }
        userErrors { code message }
      }
    }
    fragment OpsNoticeRow on OpsNotice {
      id userId openidMasked orderNo topic templateId status reason errcode attempts
      createdAt sentAt openedAt canResend resendBlockedBecause
    }`;

  let noticeCursor = null;
  let noticeFilter = {};

  function filterFromForm() {
    const filter = {};
    for (const [name, id] of [["openid", "f-openid"], ["orderNo", "f-order"], ["topic", "f-topic"],
      ["status", "f-status"], ["from", "f-from"], ["to", "f-to"]]) {
      const value = $(id).value.trim();
      if (value) filter[name] = value;
    }
    return filter;
  }

  function noticeRow(n) {
    const action = n.canResend
      ? h("button", { type: "button", class: "resend", "data-notice": n.id, onclick: (ev) => resend(n.id, ev.currentTarget) }, "重发")
      : h("span", { class: "hint", title: n.resendBlockedBecause || "" }, BLOCKED[n.resendBlockedBecause] || n.resendBlockedBecause || "");
    const why = [reasonName(n.reason), n.errcode !== null && n.errcode !== undefined ? `错误码 ${n.errcode}` : ""].filter(Boolean).join(" · ");
    return h("tr", { "data-notice": n.id, "data-status": n.status },
      h("td", { class: "num" }, n.id),
      h("td", {}, n.orderNo || dash),
      h("td", { title: n.topic }, topicName(n.topic)),
      h("td", {}, n.openidMasked),
      h("td", {}, h("span", { class: `status ${n.status}`, title: n.status }, STATUS[n.status] || n.status)),
      h("td", { title: n.reason || "" }, why || dash),
      h("td", { class: "num" }, n.attempts),
      h("td", {}, when(n.createdAt)),
      h("td", {}, when(n.sentAt)),
      h("td", {}, when(n.openedAt)),
      h("td", { class: "action" }, action),
    );
  }

  const NOTICE_HEADERS = ["#", "订单号", "主题", "用户", "状态", "原因", { text: "尝试", cls: "num" }, "创建", "发送", "打开", "操作"];

  async function searchNotices(more) {
    if (!more) {
      noticeFilter = filterFromForm();
      noticeCursor = null;
      if (noticeFilter.from && noticeFilter.to && noticeFilter.from > noticeFilter.to) {
        throw new Error("开始日期不能晚于结束日期。");
      }
    }
    const page = (await gql(NOTICES, { filter: noticeFilter, after: noticeCursor })).notices;
    const rows = page.nodes.map(noticeRow);
    if (more) {
      $("notices-table").querySelector("tbody").append(...rows);
    } else {
      table($("notices-table"), NOTICE_HEADERS, rows, "没有符合条件的消息");
    }
    noticeCursor = page.endCursor;
    $("notices-more").hidden = !page.hasNextPage;
    $("notices-table").dataset.state = "ready";
  }

  async function resend(id, button) {
    button.disabled = true;
    button.textContent = "重发中…";
    const message = $("search-message");
    const ok = await guarded(message, async () => {
      const payload = (await gql(RESEND, { id })).resendNotice;
      if (payload.userErrors.length) {
        throw new Error(`重发失败：${payload.userErrors.map(userError).join("；")}`);
      }
      if (payload.notice) {
        const row = $("notices-table").querySelector(`tr[data-notice="${CSS.escape(String(id))}"]`);
        if (row) row.replaceWith(noticeRow(payload.notice));
      }
    });
    if (ok) {
      show(message, `消息 #${id} 已重新提交发送。`, "ok");
    } else if (button.isConnected) {
      button.disabled = false;
      button.textContent = "重发";
    }
  }

  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("notices-table").dataset.state = "loading";
    guarded($("search-message"), () => searchNotices(false));
  });
  $("notices-more").addEventListener("click", () => guarded($("search-message"), () => searchNotices(true)));

  // ---- start -----------------------------------------------------------------------------------

  for (const [key, title] of Object.entries(TOPICS)) {
    $("f-topic").appendChild(h("option", { value: key }, `${title}（${key}）`));
  }
  setRange(30);
  if (sessionStorage.getItem(KEY_STORE)) {
    start();
  } else {
    showLogin("");
  }
})();
