// i18n.js - the pages' texts in English and Chinese, chosen by the
// browser's language (navigator.languages: the first that starts with
// "zh" picks Chinese, anything else English). A page may force one with
// lang ("en", "zh").
//
// API: pickLang, texts.

const en = {
  // widget
  'w.open': 'Chat with us',
  'w.close': 'Close',
  'w.title': 'Customer service',
  'w.placeholder': 'Type your message…',
  'w.send': 'Send',
  'w.queue': 'You are number {n} in line.',
  'w.agent': '{name} is serving you.',
  'w.closed': 'This chat has ended.',
  'w.new': 'Start a new chat',
  'w.rate': 'How did we do?',
  'w.rate.thanks': 'Thank you for your rating!',
  'w.offhours': 'We are closed right now.',
  'w.sending': 'sending…',
  'w.failed': 'not sent: {why}',
  'w.you': 'You',
  'w.system': 'Notice',
  // desk
  'd.title': 'Agent desk',
  'd.token': 'Agent token',
  'd.login': 'Log in',
  'd.logout': 'Log out',
  'd.ready': 'Ready',
  'd.away': 'Away',
  'd.chats': 'Chats',
  'd.none': 'No chats yet. Set yourself Ready to receive them.',
  'd.pick': 'Pick a chat on the left.',
  'd.reply': 'Reply…',
  'd.send': 'Send',
  'd.transfer': 'Transfer',
  'd.to': 'to agent id or group:NAME',
  'd.reason': 'reason',
  'd.close': 'Close chat',
  'd.closed': 'Chat closed',
  'd.transferred': 'Transferred to {to}',
  'd.gone': 'Chat ended ({why})',
  'd.newchat': 'New chat',
  'd.waiting': 'waiting {s} s',
  'd.group': 'group {g}',
  // both
  'status.connecting': 'Connecting…',
  'status.reconnecting': 'Reconnecting…',
  'status.offline': 'Offline, retrying…',
  'status.online': 'Online',
  'status.stopped': 'Disconnected',
  'err.unauthorized': 'Not authorized.',
  'err.rate_limited': 'Too many messages, please slow down.',
  'err.too_large': 'The message is too long.',
  'err.conflict': 'Not possible in this state.',
  'err.forbidden': 'Not allowed.',
  'err.not_found': 'Not found.',
  'err.unavailable': 'Service busy, retrying.',
  'err.too_many_sessions': 'Too many windows open for this login.',
  'err.other': 'Error: {code}',
};

const zh = {
  'w.open': '联系客服',
  'w.close': '关闭',
  'w.title': '在线客服',
  'w.placeholder': '请输入消息…',
  'w.send': '发送',
  'w.queue': '您前面还有 {n} 位，请稍候。',
  'w.agent': '客服 {name} 为您服务。',
  'w.closed': '本次会话已结束。',
  'w.new': '开始新的会话',
  'w.rate': '请为本次服务评分',
  'w.rate.thanks': '感谢您的评价！',
  'w.offhours': '现在是非工作时间。',
  'w.sending': '发送中…',
  'w.failed': '未发送：{why}',
  'w.you': '我',
  'w.system': '通知',
  'd.title': '客服工作台',
  'd.token': '客服令牌',
  'd.login': '登录',
  'd.logout': '退出',
  'd.ready': '在线',
  'd.away': '离开',
  'd.chats': '会话',
  'd.none': '暂无会话。设为“在线”即可接待。',
  'd.pick': '请在左侧选择一个会话。',
  'd.reply': '回复…',
  'd.send': '发送',
  'd.transfer': '转接',
  'd.to': '客服编号或 group:组名',
  'd.reason': '原因',
  'd.close': '结束会话',
  'd.closed': '会话已结束',
  'd.transferred': '已转接给 {to}',
  'd.gone': '会话已结束（{why}）',
  'd.newchat': '新会话',
  'd.waiting': '已等待 {s} 秒',
  'd.group': '分组 {g}',
  'status.connecting': '连接中…',
  'status.reconnecting': '重新连接中…',
  'status.offline': '已断开，正在重试…',
  'status.online': '在线',
  'status.stopped': '已断开',
  'err.unauthorized': '未授权。',
  'err.rate_limited': '消息太频繁，请稍后再发。',
  'err.too_large': '消息太长。',
  'err.conflict': '当前状态下无法操作。',
  'err.forbidden': '不允许。',
  'err.not_found': '未找到。',
  'err.unavailable': '服务繁忙，正在重试。',
  'err.too_many_sessions': '该账号打开的窗口太多。',
  'err.other': '错误：{code}',
};

const tables = { en, zh };

export function pickLang(forced) {
  if (forced && tables[forced]) return forced;
  for (const l of navigator.languages || [navigator.language || 'en'])
    if (l.toLowerCase().startsWith('zh')) return 'zh';
    else if (l.toLowerCase().startsWith('en')) return 'en';
  return 'en';
}

// texts(lang) -> t(key, vars): the text with {name} placeholders filled.
export function texts(lang) {
  const table = tables[lang] || en;
  const t = (key, vars = {}) =>
    (table[key] ?? en[key] ?? key).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  t.lang = tables[lang] ? lang : 'en';
  t.error = (code) => (table['err.' + code] ? t('err.' + code) : t('err.other', { code }));
  return t;
}
