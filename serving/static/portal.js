/* The portal page: reads the public API routes only (/v1/catalog, /v1/dashboards/...). Data goes into the page
   as text (textContent), never as HTML. Charts: Chart.js, shipped in vendor/. */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const charts = {};
  // what the page drew: read by tests/serving/test_page.py (and handy in a browser console)
  window.yiwangPortal = { charts, rendered: {} };

  async function api(path, params) {
    const url = new URL(path, window.location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, v);
    }
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await r.json().catch(() => null);
    if (!r.ok) {
      const msg = body && body.error ? body.error.message : r.statusText;
      throw new Error(`${r.status}: ${msg}`);
    }
    return body;
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function status(id, text, error) {
    const s = $(id);
    s.textContent = text;
    s.classList.toggle("error", Boolean(error));
  }

  const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)} %`);
  const num = (v) => (v === null || v === undefined ? "–" : String(v));

  // -- catalog ---------------------------------------------------------------------------------------------
  let catalogQuery = null;
  let catalogCursor = null;
  let catalogShown = 0;

  function itemCard(item) {
    const li = el("li");
    li.dataset.itemCode = item.item_code;
    li.append(el("div", item.item_name || item.item_code, "name"));
    const who = item.department_name || item.provider_name || "";
    const kind = item.item_kind === "government" ? "政务服务" : "生活服务";
    li.append(el("div", [kind, item.category, who].filter(Boolean).join(" · "), "meta"));
    const f = item.figures_365d;
    const figures =
      item.item_kind === "government"
        ? `近一年 365 d: ${num(f.cases)} 件 cases, 按期 on time ${pct(f.on_time_rate)}`
        : `近一年 365 d: ${num(f.orders)} 单 orders, 满意 satisfied ${pct(f.satisfied_share)}`;
    li.append(el("div", figures, "meta"));
    li.append(el("div", item.item_code, "code"));
    return li;
  }

  async function searchCatalog(more) {
    if (!more) {
      catalogQuery = { q: $("q").value.trim(), kind: $("kind").value, limit: 20 };
      catalogCursor = null;
      catalogShown = 0;
      $("catalog-results").replaceChildren();
    }
    status("catalog-status", "搜索中… searching");
    try {
      const page = await api("/v1/catalog", { ...catalogQuery, cursor: catalogCursor });
      for (const item of page.items) $("catalog-results").append(itemCard(item));
      catalogShown += page.items.length;
      catalogCursor = page.next_cursor;
      $("catalog-more").hidden = !catalogCursor;
      status(
        "catalog-status",
        catalogShown ? `${catalogShown} 项 items${catalogCursor ? "（还有更多 more follow）" : ""}` : "没有匹配的事项 No item matches"
      );
    } catch (e) {
      status("catalog-status", `出错 Error ${e.message}`, true);
    }
  }

  // -- dashboards ------------------------------------------------------------------------------------------
  let communities = [];

  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    config.options = {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { position: "bottom" } },
      ...config.options,
    };
    charts[id] = new window.Chart($(id), config);
    const points = config.data.datasets.reduce(
      (n, d) => n + d.data.filter((v) => v !== null && v !== undefined).length,
      0
    );
    window.yiwangPortal.rendered[id] = points;
    $(id).dataset.points = String(points);
  }

  function monthLabel(m) {
    return m.month.slice(0, 7);
  }

  function drawMonths(months) {
    const labels = months.map(monthLabel);
    draw("chart-events", {
      type: "bar",
      data: {
        labels,
        datasets: [
          { label: "事件 Events", data: months.map((m) => m.events), backgroundColor: "#1452a8" },
          { label: "办结 Closed", data: months.map((m) => m.closed_events), backgroundColor: "#7fa7dc" },
        ],
      },
      options: { scales: { y: { beginAtZero: true } } },
    });
    draw("chart-on-time", {
      type: "line",
      data: {
        labels,
        datasets: [
          {
            label: "按期办结率 On-time %",
            data: months.map((m) => (m.on_time_rate === null ? null : +(m.on_time_rate * 100).toFixed(1))),
            borderColor: "#b3121b",
            backgroundColor: "#b3121b",
            spanGaps: true,
          },
          {
            label: "满意率 Satisfied %",
            data: months.map((m) => (m.satisfaction_rate === null ? null : +(m.satisfaction_rate * 100).toFixed(1))),
            borderColor: "#2e7d32",
            backgroundColor: "#2e7d32",
            spanGaps: true,
          },
        ],
      },
      options: { scales: { y: { min: 0, max: 100 } } },
    });
  }

  function drawComplaints(years) {
    draw("chart-complaints", {
      type: "bar",
      data: {
        labels: years.map((y) => String(y.year)),
        datasets: [
          {
            label: "无联动机制 Without (before)",
            data: years.map((y) => y.complaints_per_100_households_without_mechanism),
            backgroundColor: "#9aa3b5",
          },
          {
            label: "有联动机制 With the mechanism",
            data: years.map((y) => y.complaints_per_100_households_with_mechanism),
            backgroundColor: "#b3121b",
          },
          {
            label: "全部 All estates",
            type: "line",
            data: years.map((y) => y.complaints_per_100_households),
            borderColor: "#1d2330",
            backgroundColor: "#1d2330",
            spanGaps: true,
          },
        ],
      },
      options: { scales: { y: { beginAtZero: true } } },
    });
  }

  function figures(pairs) {
    const dl = $("dashboard-figures");
    dl.replaceChildren();
    for (const [label, value] of pairs) {
      const d = el("div");
      d.append(el("dt", label), el("dd", value));
      dl.append(d);
    }
  }

  function suppressedNote(rows) {
    const n = rows.filter((r) => r.suppressed).length;
    return n ? `；${n} 行含小数值未显示 ${n} rows with small counts not shown` : "";
  }

  async function showDashboard() {
    const code = $("community").value;
    const grid = $("grid").value;
    if (!code) return;
    status("dashboard-status", "加载中… loading");
    try {
      const c = await api(`/v1/dashboards/communities/${encodeURIComponent(code)}`);
      let months = c.months;
      let where = `${c.street_name || ""} ${c.community_name || code}`.trim();
      if (grid) {
        const g = await api(`/v1/dashboards/grids/${encodeURIComponent(grid)}`);
        months = g.months;
        where = `${where} · ${g.grid_name || grid}`;
      }
      const d = c.demands || {};
      const p = c.party_check_in || {};
      const events = months.reduce((n, m) => n + (m.events || 0), 0);
      figures([
        ["事件 Events (shown)", num(events)],
        ["诉求 Demands", num(d.demands)],
        ["诉求满意 Demands satisfied", pct(d.satisfied_share)],
        ["党员报到率 Party check-in", pct(p.check_in_rate)],
      ]);
      drawMonths(months);
      drawComplaints(c.complaints);
      status("dashboard-status", `${where}: ${months.length} 个月 months${suppressedNote(months)}`);
    } catch (e) {
      status("dashboard-status", `出错 Error ${e.message}`, true);
    }
  }

  function fillGrids() {
    const c = communities.find((x) => x.community_code === $("community").value);
    const select = $("grid");
    select.replaceChildren(el("option", "全社区 Whole community"));
    select.firstChild.value = "";
    for (const g of (c && c.grids) || []) {
      const o = el("option", g.grid_name || g.grid_code);
      o.value = g.grid_code;
      select.append(o);
    }
  }

  async function loadCommunities() {
    status("dashboard-status", "加载中… loading");
    try {
      communities = (await api("/v1/dashboards/communities")).communities;
      const select = $("community");
      for (const c of communities) {
        const o = el("option", [c.street_name, c.community_name || c.community_code].filter(Boolean).join(" · "));
        o.value = c.community_code;
        select.append(o);
      }
      if (!communities.length) {
        status("dashboard-status", "尚无看板 No dashboard published yet");
        return;
      }
      // start with the community that has the most grids with events (a community may have Party figures only)
      const first = communities.reduce((a, c) => (c.grids.length > a.grids.length ? c : a), communities[0]);
      select.value = first.community_code;
      fillGrids();
      await showDashboard();
    } catch (e) {
      status("dashboard-status", `出错 Error ${e.message}`, true);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("catalog-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      searchCatalog(false);
    });
    $("catalog-more").addEventListener("click", () => searchCatalog(true));
    $("community").addEventListener("change", () => {
      fillGrids();
      showDashboard();
    });
    $("grid").addEventListener("change", showDashboard);
    searchCatalog(false);
    loadCommunities();
  });
})();
