// Labels in Chinese (default) and English; t(key) and apply() to [data-i18n] elements.
const TEXT = {
  zh: {
    title: "视频覆盖规划", search: "搜索", search_ph: "摄像机编号 / 网格编码 / 名称",
    sign_in: "登录", sign_out: "退出", look_only: "仅浏览（无密钥）",
    signin_help: "输入 API 密钥（仅保存在本浏览器会话中）。", bad_key: "密钥无效",
    tab_look: "地图", tab_grid: "我的网格", tab_whatif: "方案推演", tab_jobs: "任务",
    basemap: "底图", bm_graticule: "经纬网（离线）", bm_blank: "空白（离线）",
    bm_tianditu: "天地图（需联网与密钥）", bm_amap: "高德（GCJ-02，需联网）", tianditu_key: "天地图密钥",
    role_admin: "管理员", role_planner: "规划员", role_grid_chief: "网格长", role_reader: "只读",
    role_anonymous: "访客",
    l_grids: "网格", l_cameras: "摄像机", l_views: "视域", l_posts: "警务站", l_sites: "重点场所",
    l_cells: "覆盖单元", l_blind: "盲区", l_zones: "巡区", l_siting: "选址建议", l_issues: "网格质检问题",
    l_units: "盲区工单", l_bands: "识别等级带（3D）",
    online: "在线", offline: "离线", unknown: "未知", cluster: "聚合（数量）",
    covered_pct: "覆盖率", legend: "图例",
    my_grid: "定位到我的网格", qa_issues: "网格质检问题", blind_units: "盲区",
    confirm: "确认", dispute: "有异议", comment: "说明", no_issues: "无问题",
    verdict_confirmed: "已确认", verdict_disputed: "有异议",
    area: "面积", coverage: "覆盖率", weighted: "重点加权覆盖率", cameras: "摄像机",
    edit: "编辑", save: "保存", status: "状态", type: "类型", height_m: "高度 (米)",
    tilt_deg: "俯角 (度)", azimuth_deg: "朝向 (度)", fov_deg: "视场角 (度)", range_m: "距离 (米)",
    saved: "已保存", refused: "被拒绝", moved: "已移动",
    disable: "停用（推演）", reaim: "拖动橙色手柄改朝向（推演）", enable: "恢复",
    whatif_help: "点击摄像机可停用或改朝向，点“新增摄像机”后在地图上点击放置；每次改动后一秒内显示各网格指标变化。",
    wi_add: "新增摄像机", wi_reset: "清空", wi_name: "方案名称", wi_save: "保存方案",
    wi_compare: "对比所选两个方案", wi_export: "导出对比表 CSV", wi_export_sites: "导出布点表 CSV",
    wi_disabled: "停用", wi_added: "新增", wi_reaimed: "改朝向", wi_took: "耗时",
    wi_kpi: "指标", wi_base: "现状", wi_scen: "方案", wi_delta: "变化", wi_grid: "网格",
    wi_apply_site: "采用此选址", wi_server_scen: "服务器方案接口不可用，方案保存在本浏览器。",
    job_kind: "任务", job_coverage: "覆盖分析", job_patrol: "巡区划分", job_siting: "选址",
    job_gridcheck: "网格质检", job_res: "H3 分辨率", job_k: "新增数量", job_start: "开始",
    job_done: "完成，图层已刷新",
    job_budget: "预算（元）", job_budget_hint: "可选", job_rank: "序号", job_model: "型号",
    job_price: "单价（元）", job_total: "合计", job_budget_of: "预算",
    conflict_title: "编辑冲突", conflict_help: "在您编辑期间，其他人已修改此对象。请比较后选择：",
    conflict_mine: "用我的修改覆盖", conflict_theirs: "保留对方的修改", field: "字段",
    theirs: "对方（当前）", mine: "我的",
    not_found: "未找到", outside: "不在您的网格内", ptz: "球机", dome: "半球", bullet: "枪机", other: "其他",
    owner_public_security: "权属：天网", owner_community: "权属：雪亮", owner_social: "权属：社会面", owner_other: "权属：其他",
    priority_weighted_pct: "重点加权覆盖率", cameras_counted: "计入摄像机", blind_spots: "盲区数",
    blind_spot_area_m2: "盲区面积 (m²)", d_covered_pct: "Δ覆盖率", d_priority_weighted_pct: "Δ加权覆盖率",
    d_blind_spots: "Δ盲区",
    l_changes: "方案变化单元", ch_gained: "新增覆盖", ch_lost: "失去覆盖", ch_level_up: "识别等级提高",
    ch_level_down: "识别等级降低", ch_more_cameras: "摄像机增多", ch_fewer_cameras: "摄像机减少",
    wi_export_cells: "导出变化单元 GeoJSON",
  },
  en: {
    title: "Video coverage planning", search: "Search", search_ph: "camera id / grid code / name",
    sign_in: "Sign in", sign_out: "Sign out", look_only: "Look without a key",
    signin_help: "Enter your API key (kept in this browser session only).", bad_key: "Invalid key",
    tab_look: "Map", tab_grid: "My grid", tab_whatif: "What-if", tab_jobs: "Jobs",
    basemap: "Basemap", bm_graticule: "Graticule (offline)", bm_blank: "Blank (offline)",
    bm_tianditu: "Tianditu (online, key)", bm_amap: "AMap (GCJ-02, online)", tianditu_key: "Tianditu key",
    role_admin: "admin", role_planner: "planner", role_grid_chief: "grid chief", role_reader: "reader",
    role_anonymous: "visitor",
    l_grids: "Grids", l_cameras: "Cameras", l_views: "Views", l_posts: "Posts", l_sites: "Key sites",
    l_cells: "Coverage cells", l_blind: "Blind spots", l_zones: "Patrol zones",
    l_siting: "Siting proposals", l_issues: "Grid QA issues", l_units: "Blind-spot units",
    l_bands: "Detail bands (3D)",
    online: "online", offline: "offline", unknown: "unknown", cluster: "cluster (count)",
    legend: "Legend",
    my_grid: "Zoom to my grid", qa_issues: "Grid QA issues", blind_units: "Blind spots",
    confirm: "Confirm", dispute: "Dispute", comment: "Comment", no_issues: "No issues",
    verdict_confirmed: "confirmed", verdict_disputed: "disputed",
    area: "Area", coverage: "Coverage", weighted: "Priority-weighted", cameras: "Cameras",
    edit: "Edit", save: "Save", status: "Status", type: "Type", height_m: "Height (m)",
    tilt_deg: "Tilt (deg)", azimuth_deg: "Azimuth (deg)", fov_deg: "FOV (deg)", range_m: "Range (m)",
    saved: "Saved", refused: "Refused", moved: "Moved",
    disable: "Disable (what-if)", reaim: "Drag the orange handle to re-aim (what-if)", enable: "Enable",
    whatif_help: "Click a camera to disable or re-aim it; press 'Add camera' and click the map to place one. KPI changes per grid show within a second of each change.",
    wi_add: "Add camera", wi_reset: "Reset", wi_name: "scenario name", wi_save: "Save scenario",
    wi_compare: "Compare the two selected", wi_export: "Export comparison CSV", wi_export_sites: "Export placements CSV",
    wi_disabled: "disabled", wi_added: "added", wi_reaimed: "re-aimed", wi_took: "took",
    wi_kpi: "KPI", wi_base: "baseline", wi_scen: "scenario", wi_delta: "delta", wi_grid: "grid",
    wi_apply_site: "Use this site", wi_server_scen: "The server has no scenario routes; scenarios are kept in this browser.",
    job_kind: "Job", job_coverage: "Coverage", job_patrol: "Patrol zones", job_siting: "Siting",
    job_gridcheck: "Grid check", job_res: "H3 resolution", job_k: "New cameras", job_start: "Start",
    job_done: "done, layers refreshed",
    job_budget: "Budget (CNY)", job_budget_hint: "optional", job_rank: "Rank", job_model: "Model",
    job_price: "Price (CNY)", job_total: "Total", job_budget_of: "budget",
    conflict_title: "Edit conflict", conflict_help: "Someone else changed this object while you edited it. Compare and choose:",
    conflict_mine: "Overwrite with mine", conflict_theirs: "Keep theirs", field: "Field",
    theirs: "theirs (current)", mine: "mine",
    not_found: "Not found", outside: "outside your grid", ptz: "PTZ", dome: "dome", bullet: "bullet", other: "other",
    owner_public_security: "owner: public security (天网)", owner_community: "owner: community (雪亮)",
    owner_social: "owner: social (社会面)", owner_other: "owner: other",
    covered_pct: "covered %", priority_weighted_pct: "priority-weighted %", cameras_counted: "cameras counted",
    blind_spots: "blind spots", blind_spot_area_m2: "blind-spot area (m²)", d_covered_pct: "Δ covered %",
    d_priority_weighted_pct: "Δ weighted %", d_blind_spots: "Δ blind spots",
    l_changes: "Changed cells", ch_gained: "gained coverage", ch_lost: "lost coverage", ch_level_up: "detail level up",
    ch_level_down: "detail level down", ch_more_cameras: "more cameras", ch_fewer_cameras: "fewer cameras",
    wi_export_cells: "Export changed cells GeoJSON",
  },
};

let lang = sessionStorage.getItem("gridcover.lang") || "zh";

export function getLang() { return lang; }

export function setLang(value) {
  lang = TEXT[value] ? value : "zh";
  sessionStorage.setItem("gridcover.lang", lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  apply(document);
}

export function t(key) {
  return (TEXT[lang] && TEXT[lang][key]) || TEXT.en[key] || key;
}

export function apply(root) {
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  });
}
