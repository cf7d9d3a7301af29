// zh-CN by default, English by a switch. Category names come from the server
// (GET /api/v1/categories: name_zh, name_en); everything else is in this table.

const STRINGS = {
  'app.title': ['小脑 · 综合指挥室', 'Xiaonao · Command room'],
  'login.title': ['登录', 'Sign in'],
  'login.police_number': ['警号', 'Police number'],
  'login.password': ['密码', 'Password'],
  'login.submit': ['登录', 'Sign in'],
  'login.failed': ['警号或密码错误', 'Wrong police number or password'],
  'login.throttled': ['尝试过多，请稍后再试', 'Too many attempts, try again later'],
  'logout': ['退出', 'Sign out'],
  'lang.switch': ['English', '中文'],
  'feed.live': ['实时', 'Live'],
  'feed.connecting': ['连接中', 'Connecting'],
  'feed.down': ['已断开，重连中', 'Disconnected, reconnecting'],
  'feed.revoked': ['登录已失效', 'Signed out'],
  'queue.title': ['警情队列', 'Incident queue'],
  'queue.empty': ['暂无警情', 'No incidents'],
  'queue.open': ['在办', 'open'],
  'filter.all_categories': ['全部类别', 'All categories'],
  'filter.all_priorities': ['全部等级', 'All priorities'],
  'filter.all_statuses': ['全部在办', 'All open'],
  'filter.overdue': ['仅超时', 'Overdue only'],
  'filter.search': ['搜索 编号/地址/描述', 'Search number/address/text'],
  'priority': ['等级', 'Priority'],
  'priority.n': ['{n}级', 'P{n}'],
  'age': ['已过', 'Age'],
  'alerts.n': ['{n}起报警', '{n} alerts'],
  'deadline.acknowledge': ['签收', 'Acknowledge'],
  'deadline.arrive': ['到场', 'Arrive'],
  'deadline.feedback': ['反馈', 'Feedback'],
  'deadline.accept': ['受理', 'Accept'],
  'deadline.answer': ['答复', 'Answer'],
  'deadline.close': ['办结', 'Close'],
  'deadline.done': ['完成', 'Done'],
  'deadline.overdue': ['超时', 'overdue'],
  'status.received': ['待研判', 'Received'],
  'status.assessed': ['已研判', 'Assessed'],
  'status.dispatched': ['已派警', 'Dispatched'],
  'status.on_scene': ['已到场', 'On scene'],
  'status.resolved': ['已处置', 'Resolved'],
  'status.closed': ['已办结', 'Closed'],
  'status.cancelled': ['已撤销', 'Cancelled'],
  'status.diverted': ['已分流', 'Diverted'],
  'unit.available': ['空闲', 'Available'],
  'unit.busy': ['出警中', 'Busy'],
  'unit.off_duty': ['下班', 'Off duty'],
  'unit.out_of_service': ['停用', 'Out of service'],
  'kind.patrol_car': ['巡逻车', 'Patrol car'],
  'kind.kiosk': ['警灯岗亭', 'Kiosk'],
  'kind.ptu': ['PTU', 'PTU'],
  'kind.officer': ['民警', 'Officer'],
  'kind.drone': ['无人机', 'Drone'],
  'view.empty': ['在队列或地图上选择一个警情', 'Select an incident in the queue or on the map'],
  'view.alerts': ['报警', 'Alerts'],
  'view.location': ['位置', 'Location'],
  'view.located_by': ['定位方式', 'Located by'],
  'view.matched_alias': ['匹配别名', 'matched alias'],
  'view.confidence': ['可信度', 'Confidence'],
  'view.relocate': ['在地图上点选位置', 'Click the map to set the location'],
  'view.relocate_hint': ['请在地图上点击警情位置（Esc 取消）', 'Click the incident location on the map (Esc cancels)'],
  'view.needs_location': ['未能定位', 'Not located'],
  'view.owner': ['管辖', 'Jurisdiction'],
  'view.station': ['派出所', 'Station'],
  'view.zone': ['警务区', 'Police zone'],
  'view.grid': ['网格', 'Grid'],
  'view.officer': ['社区民警', 'Community officer'],
  'view.worker': ['网格员', 'Grid worker'],
  'view.cameras': ['周边视频', 'Cameras'],
  'view.camera_open': ['打开视频', 'Open stream'],
  'view.in_view': ['可视', 'in view'],
  'view.units': ['推荐警力', 'Recommended units'],
  'view.dispatch': ['派警', 'Dispatch'],
  'view.household': ['住户', 'Residents'],
  'view.masked': ['已脱敏', 'masked'],
  'view.history': ['历史警情', 'History'],
  'view.orders': ['指令', 'Orders'],
  'view.support': ['支撑请求', 'Support requests'],
  'support.panel': ['支撑请求处理', 'Support desk'],
  'support.toggle': ['支撑请求', 'Support'],
  'support.answer': ['答复内容', 'Answer'],
  'support.act.accept': ['受理', 'Accept'],
  'support.act.reject': ['驳回', 'Reject'],
  'support.act.answer': ['答复', 'Answer'],
  'support.act.close': ['办结', 'Close'],
  'support.rejected_because': ['驳回理由', 'Rejected because'],
  // Timeline entries by event type (docs/api.md, "Feed events"); an unknown type shows as it is.
  'ev.alert.received': ['接警', 'Alert received'],
  'ev.alert.merged': ['报警合并', 'Alert merged'],
  'ev.alert.split': ['报警拆分', 'Alert split'],
  'ev.incident.opened': ['立案', 'Opened'],
  'ev.incident.fused': ['信息融合', 'Fused'],
  'ev.incident.located': ['重新定位', 'Relocated'],
  'ev.incident.category': ['类别变更', 'Category changed'],
  'ev.incident.assessed': ['研判确认', 'Assessed'],
  'ev.incident.dispatched': ['已派警', 'Dispatched'],
  'ev.incident.on_scene': ['已到场', 'On scene'],
  'ev.incident.resolved': ['处置完毕', 'Resolved'],
  'ev.incident.closed': ['办结', 'Closed'],
  'ev.incident.cancelled': ['撤销', 'Cancelled'],
  'ev.incident.diverted': ['已分流', 'Diverted'],
  'ev.incident.feedback': ['反馈', 'Feedback'],
  'ev.incident.callback': ['回访', 'Call-back'],
  'ev.incident.reviewed': ['评估', 'Reviewed'],
  'ev.order.issued': ['下达指令', 'Order issued'],
  'ev.order.acknowledged': ['指令签收', 'Order acknowledged'],
  'ev.order.en_route': ['出发', 'En route'],
  'ev.order.on_scene': ['到场', 'Arrived'],
  'ev.order.completed': ['指令完成', 'Order completed'],
  'ev.order.declined': ['指令拒收', 'Order declined'],
  'ev.order.reassigned': ['改派', 'Order reassigned'],
  'ev.unit.status': ['警力状态', 'Unit status'],
  'ev.support.requested': ['请求支撑', 'Support requested'],
  'ev.support.accepted': ['支撑受理', 'Support accepted'],
  'ev.support.answered': ['支撑答复', 'Support answered'],
  'ev.support.closed': ['支撑办结', 'Support closed'],
  'ev.support.rejected': ['支撑驳回', 'Support rejected'],
  'ev.diversion.sent': ['分流移交', 'Diversion sent'],
  'ev.diversion.accepted': ['分流受理', 'Diversion accepted'],
  'ev.diversion.rejected': ['分流退回', 'Diversion rejected'],
  'ev.diversion.done': ['分流办结', 'Diversion done'],
  'ev.deadline.missed': ['超时', 'Deadline missed'],
  'supstate.requested': ['待受理', 'Requested'],
  'supstate.accepted': ['已受理', 'Accepted'],
  'supstate.answered': ['已答复', 'Answered'],
  'supstate.closed': ['已办结', 'Closed'],
  'supstate.rejected': ['已驳回', 'Rejected'],
  'view.diversions': ['分流', 'Diversions'],
  'view.feedback': ['反馈与评估', 'Feedback and review'],
  'view.response': ['响应时间', 'Response times'],
  'view.timeline': ['时间线', 'Timeline'],
  'view.none': ['无', 'None'],
  'view.actions': ['处置', 'Actions'],
  'view.caller': ['报警人', 'Caller'],
  'view.description': ['描述', 'Description'],
  'view.received_at': ['接警时间', 'Received'],
  'flag.elderly_alone': ['独居老人', 'Elderly, alone'],
  'flag.mental_illness': ['精神障碍', 'Mental illness'],
  'flag.disabled': ['残障', 'Disabled'],
  'flag.minor': ['未成年', 'Minor'],
  'flag.person_of_interest': ['重点人员', 'Person of interest'],
  'flag.floating': ['流动人口', 'Floating population'],
  'act.assess': ['研判确认', 'Assess'],
  'act.dispatch': ['派警', 'Dispatch'],
  'act.note': ['备注', 'Note'],
  'act.support': ['请求支撑', 'Request support'],
  'act.divert': ['分流', 'Divert'],
  'act.resolve': ['处置完毕', 'Resolve'],
  'act.feedback': ['反馈', 'Feedback'],
  'act.cancel': ['撤销', 'Cancel'],
  'act.unmask': ['查看完整信息', 'Show in full'],
  'act.callback': ['回访', 'Call-back'],
  'act.review': ['评估', 'Review'],
  'act.close': ['办结', 'Close'],
  'form.reached': ['已联系上报警人', 'Caller reached'],
  'form.satisfaction': ['满意度', 'Satisfaction'],
  'form.verdict': ['评估结论', 'Verdict'],
  'form.yes': ['是', 'Yes'],
  'form.no': ['否', 'No'],
  'verdict.good': ['好', 'Good'],
  'verdict.acceptable': ['合格', 'Acceptable'],
  'verdict.poor': ['差', 'Poor'],
  'act.submit': ['提交', 'Submit'],
  'act.close_form': ['取消', 'Cancel'],
  'act.ok': ['已提交', 'Done'],
  'act.unavailable': ['该功能需服务端闭环模块', 'Needs the server\'s closed-loop module'],
  'form.reason': ['原因', 'Reason'],
  'form.instruction': ['指令内容', 'Instruction'],
  'form.order_kind': ['指令类型', 'Order kind'],
  'form.detail': ['详情', 'Detail'],
  'form.kind': ['类型', 'Kind'],
  'form.agency': ['分流单位', 'Agency'],
  'form.note': ['说明', 'Note'],
  'form.note_text': ['备注内容', 'Note text'],
  'note.info': ['情况备注', 'Information'],
  'note.caller_update': ['报警人补充', 'Caller update'],
  'note.scene_report': ['现场报告', 'Scene report'],
  'timeline.note': ['备注', 'Note'],
  'form.outcome': ['处置结果', 'Outcome'],
  'form.summary': ['情况摘要', 'Summary'],
  'form.people': ['涉及人数', 'People involved'],
  'form.property': ['追回财物', 'Property recovered'],
  'form.category': ['类别', 'Category'],
  'order.respond': ['出警', 'Respond'],
  'order.visit': ['上门', 'Visit'],
  'order.video_check': ['视频巡查', 'Video check'],
  'order.search': ['搜寻', 'Search'],
  'order.issued': ['已下达', 'Issued'],
  'order.acknowledged': ['已签收', 'Acknowledged'],
  'order.en_route': ['在途', 'En route'],
  'order.on_scene': ['已到场', 'On scene'],
  'order.completed': ['已完成', 'Completed'],
  'order.declined': ['已拒绝', 'Declined'],
  'order.reassigned': ['已改派', 'Reassigned'],
  'support.video': ['视频支撑', 'Video'],
  'support.technical': ['技术支撑', 'Technical'],
  'support.intelligence': ['情报支撑', 'Intelligence'],
  'support.cross_jurisdiction': ['跨区协查', 'Cross-jurisdiction'],
  'support.manpower': ['警力增援', 'Manpower'],
  'agency.12345': ['12345热线', '12345 hotline'],
  'agency.town_platform': ['乡镇平台', 'Town platform'],
  'agency.fire_119': ['消防119', 'Fire 119'],
  'agency.medical_120': ['急救120', 'Medical 120'],
  'agency.utilities': ['公用事业', 'Utilities'],
  'map.zones': ['警务区', 'Zones'],
  'map.grids': ['网格', 'Grids'],
  'map.cameras': ['视频', 'Cameras'],
  'map.units': ['警力', 'Units'],
  'map.incidents': ['警情', 'Incidents'],
  'map.markers': ['报警柱', 'Alarm pillars'],
  'map.stations': ['派出所', 'Stations'],
  'escalation.title': ['超时升级', 'Escalation'],
  'escalation.late': ['已超 {s} 秒', '{s} s late'],
  'alarm.new': ['新的紧急警情', 'New urgent incident'],
  'error.generic': ['操作失败', 'Failed'],
};

let lang = 'zh';
try {
  const saved = globalThis.localStorage?.getItem('xiaonao.lang');
  if (saved === 'en' || saved === 'zh') lang = saved;
} catch { /* storage blocked */ }

const categories = new Map();
const listeners = new Set();

export function getLang() { return lang; }

export function setLang(l) {
  lang = l === 'en' ? 'en' : 'zh';
  try { globalThis.localStorage?.setItem('xiaonao.lang', lang); } catch { /* ignore */ }
  if (globalThis.document) document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
  for (const f of listeners) f(lang);
}

export function onLangChange(f) { listeners.add(f); }

/** The text for `key` in the current language, with {name} placeholders filled from `vars`. */
export function t(key, vars) {
  const e = STRINGS[key];
  let s = e ? e[lang === 'en' ? 1 : 0] : key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

/** A code's label when the table has one (status.received), else the code itself. */
export function label(prefix, code) {
  const key = `${prefix}.${code}`;
  return STRINGS[key] ? t(key) : String(code ?? '');
}

/** Loads the server's categories: [{code, name_zh, name_en, default_priority, non_police}]. */
export function setCategories(items) {
  categories.clear();
  for (const c of items) categories.set(c.code, c);
}

export function categoryList() { return [...categories.values()]; }

export function categoryName(code) {
  const c = categories.get(code);
  if (!c) return code ?? '';
  return lang === 'en' ? (c.name_en || c.code) : (c.name_zh || c.name_en || c.code);
}

/** Local date-time "11-26 16:30:05" in the browser's zone. */
export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
