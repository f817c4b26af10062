"""The pages' words: Chinese first, English on `?lang=en` (kept in the session).

Every string the templates show comes from STRINGS through `t(key)`; labels from the data (task
names, form labels) fall back to the data's own Chinese text.
"""

from __future__ import annotations

import re

from flask import g, has_request_context

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

# key -> (中文, English)
STRINGS: dict[str, tuple[str, str]] = {
    # layout
    "app.name": ("社区工作事项准入与委托", "Community work handoff"),
    "app.motto": ("权随责走、费随事转", "Authority and funds follow the work"),
    "nav.inbox": ("我的待办", "My inbox"),
    "nav.requests": ("委托申请", "Requests"),
    "nav.my_requests": ("我的申请", "My requests"),
    "nav.new_request": ("发起委托", "New request"),
    "nav.finance": ("经费拨付", "Transfers"),
    "nav.processes": ("发起流程", "Start a process"),
    "nav.instances": ("我的流程", "My processes"),
    "nav.admin": ("系统管理", "Administration"),
    "nav.menu": ("主导航", "Main navigation"),
    "nav.skip": ("跳到正文", "Skip to content"),
    "nav.badge_open": (" 项待办", " open tasks"),
    "nav.badge_overdue": ("{n} 项超期", "{n} overdue"),
    # a request fanned out to many communities
    "fanout.total": ("共 {n} 个社区", "{n} communities"),
    "fanout.by_stage": ("各环节数量", "By stage"),
    "fanout.overdue": ("超期", "overdue"),
    "fanout.export": ("导出各社区情况（Excel）", "Export the communities (Excel)"),
    "fanout.street_line": ("{n} 个社区", "{n} communities"),
    "fanout.street_overdue": ("{n} 个超期", "{n} overdue"),
    "fanout.choose": ("选择", "Choose"),
    "fanout.choose_one": ("选择{community}", "Choose {community}"),
    "fanout.reason": ("撤回原因", "Reason for withdrawing"),
    "fanout.withdraw": ("撤回所选", "Withdraw the chosen"),
    "fanout.withdraw_hint": (
        "只能撤回尚未签署协议的委托；协议已生效的请逐个申请终止。",
        "Only handoffs not yet signed can be withdrawn; ask for termination of a signed one.",
    ),
    "fanout.none_chosen": ("请先勾选要撤回的社区", "Tick the communities to withdraw first"),
    "fanout.withdrawn": ("已撤回 {n} 个社区的委托", "{n} handoff(s) withdrawn"),
    "fanout.refused": (
        "{n} 个不能撤回（已签署、已报告或已结束）",
        "{n} could not be withdrawn (signed, reported or ended)",
    ),
    # working days left
    "due.days_left": ("剩余 {n} 个工作日", "{n} working day(s) left"),
    "due.today": ("今日到期", "due today"),
    "due.days_over": ("已超期 {n} 个工作日", "{n} working day(s) overdue"),
    "due.over_today": ("已超期（今日）", "overdue (today)"),
    # the statutory calendar
    "due.provisional": ("假日安排未公布，按周末计算", "holidays not published yet: weekends only"),
    "due.provisional_hint": (
        "该年的法定节假日尚未录入，期限暂按周末计算，录入后将自动重新计算",
        "this year's public holidays are not entered yet; the date is counted on weekends only "
        "and is counted again once they are",
    ),
    "nav.lang_switch": ("English", "中文"),
    "nav.lang_label": ("切换语言", "Switch language"),
    "nav.signed_in_as": ("当前用户", "Signed in as"),
    "auth.sign_in": ("登录", "Sign in"),
    "auth.sign_out": ("退出", "Sign out"),
    "auth.username": ("用户名", "Username"),
    "auth.password": ("密码", "Password"),
    "auth.failed": ("用户名或密码错误", "Wrong username or password"),
    "auth.throttled": (
        "登录失败次数过多，请5分钟后再试",
        "Too many failed sign-ins; try again in 5 minutes",
    ),
    "auth.required": ("请先登录", "Please sign in first"),
    "auth.signed_out": ("已退出登录", "You are signed out"),
    "auth.intro": (
        "区职能部门、街道、社区、财政与审核办在此办理社区工作事项的委托。",
        "District departments, street offices, communities, finance and the access office "
        "hand community work over here.",
    ),
    "auth.demo_hint": ("演示账号见项目说明。", "Demo accounts are listed in the README."),
    # generic
    "common.save": ("保存", "Save"),
    "common.submit": ("提交", "Submit"),
    "common.search": ("搜索", "Search"),
    "common.filter": ("筛选", "Filter"),
    "common.reset": ("清除", "Clear"),
    "common.all": ("全部", "All"),
    "common.yes": ("是", "Yes"),
    "common.list_sep": ("，", ", "),
    "common.in_yuan": ("（元）", " (yuan)"),
    # the shipped processes' form choices, for the English pages (Chinese: the BPMN's own)
    "option.add": ("新增", "add"),
    "option.change": ("变更", "change"),
    "option.remove": ("删除", "remove"),
    "option.flood": ("防汛", "flood control"),
    "option.epidemic": ("疫情防控", "epidemic control"),
    "option.fire": ("消防安全", "fire safety"),
    "option.other": ("其他", "other"),
    "option.confirm": ("确认", "confirm"),
    "option.dispute": ("有异议", "dispute"),
    "common.no": ("否", "No"),
    "common.none": ("无", "None"),
    "common.open": ("打开", "Open"),
    "common.details": ("详情", "Details"),
    "common.back": ("返回", "Back"),
    "common.previous": ("上一页", "Previous"),
    "common.next": ("下一页", "Next"),
    "common.page_of": (
        "第 {page} / {pages} 页，共 {total} 条",
        "Page {page} of {pages}, {total} in all",
    ),
    "common.pagination": ("分页", "Pagination"),
    "common.required": ("必填", "required"),
    "common.optional": ("选填", "optional"),
    "common.system": ("系统", "System"),
    "common.me": ("我", "me"),
    "common.actions": ("操作", "Actions"),
    "common.empty": ("暂无记录", "Nothing here yet"),
    "common.print": ("打印", "Print"),
    "common.yuan": ("元", "yuan"),
    "common.status": ("状态", "Status"),
    "common.name": ("名称", "Name"),
    "common.code": ("编码", "Code"),
    "common.time": ("时间", "Time"),
    "common.comment": ("意见", "Comment"),
    "common.required_mark": ("（必填）", "(required)"),
    "common.colon": ("：", ": "),
    "common.fix_errors": ("请修改标出的内容后再提交", "Please correct the marked fields"),
    "common.saved": ("已保存", "Saved"),
    "common.created": ("已创建", "Created"),
    # errors
    "error.title": ("出错了", "Something went wrong"),
    "error.400": ("请求无效", "Bad request"),
    "error.403": ("无权访问", "Forbidden"),
    "error.404": ("找不到页面", "Not found"),
    "error.405": ("不支持的操作", "Method not allowed"),
    "error.409": ("操作冲突", "Conflict"),
    "error.413": ("文件过大", "Too large"),
    "error.429": ("尝试次数过多", "Too many attempts"),
    "error.500": ("服务器内部错误", "Internal error"),
    "error.503": ("服务暂时不可用", "Service unavailable"),
    "instance.cancel_refused": ("未能取消：{why}", "Not cancelled: {why}"),
    "error.unavailable_text": (
        "数据库暂时无法访问，请稍后再试。",
        "The database cannot be reached just now; please try again in a moment.",
    ),
    "error.csrf": (
        "表单已过期或来源不明，请返回刷新页面后重试。",
        "The form expired or did not come from this site: go back, reload and try again.",
    ),
    "error.forbidden_text": (
        "这不在您的职责范围内。",
        "This is outside your responsibilities.",
    ),
    "error.not_found_text": (
        "要找的内容不存在，或不在您的范围内。",
        "It does not exist or is not within your scope.",
    ),
    "error.home": ("回到我的待办", "Back to my inbox"),
    # inbox
    "inbox.title": ("我的待办", "My inbox"),
    "inbox.count_open": ("待办", "Open"),
    "inbox.count_overdue": ("已超期", "Overdue"),
    "inbox.count_mine": ("我已认领", "Claimed by me"),
    "inbox.filters": ("筛选待办", "Filter tasks"),
    "inbox.role": ("角色", "Role"),
    "inbox.process": ("流程", "Process"),
    "inbox.overdue": ("期限", "Deadline"),
    "inbox.overdue_only": ("仅超期", "Overdue only"),
    "inbox.not_overdue": ("未超期", "Not overdue"),
    "inbox.claimed": ("认领", "Claim"),
    "inbox.claimed_yes": ("已认领", "Claimed"),
    "inbox.claimed_no": ("未认领", "Unclaimed"),
    "inbox.q": ("关键词", "Keyword"),
    "inbox.q_placeholder": ("按标题搜索", "Search titles"),
    "inbox.sort": ("排序", "Sort"),
    "inbox.sort_created": ("最新在前", "Newest first"),
    "inbox.sort_due": ("期限最近在前", "Due soonest first"),
    "inbox.task": ("待办事项", "Task"),
    "inbox.subject": ("委托事项", "Handoff"),
    "inbox.unit": ("办理单位", "Unit"),
    "inbox.created": ("到达时间", "Arrived"),
    "inbox.due": ("办理期限", "Due"),
    "inbox.assignee": ("认领人", "Claimed by"),
    "inbox.empty": ("没有待办事项。", "Nothing to do."),
    "inbox.overdue_mark": ("已超期", "overdue"),
    "inbox.escalated_mark": ("已上报区审核办", "escalated"),
    "inbox.claim": ("认领", "Claim"),
    "inbox.release": ("释放", "Release"),
    "inbox.handle": ("办理", "Handle"),
    "inbox.claimed_flash": ("已认领", "Claimed"),
    "inbox.released_flash": ("已释放，同单位同事可办理", "Released to your colleagues"),
    # task
    "task.title": ("办理待办", "Task"),
    "task.form": ("办理意见", "Your decision"),
    "task.instance_data": ("委托事项", "The handoff"),
    "task.history": ("此前办理意见", "Earlier steps"),
    "task.no_history": ("这是第一步。", "This is the first step."),
    "attachments.title": ("附件", "Attachments"),
    "attachments.none": ("暂无附件。", "No attachments yet."),
    "attachments.file": (
        "选择文件（PDF、图片、Office 文档，最大 10 MB）",
        "Choose a file (PDF, image, Office document, at most 10 MB)",
    ),
    "attachments.upload": ("上传附件", "Upload"),
    "attachments.uploaded": ("已上传附件：{name}", "Attachment uploaded: {name}"),
    "task.claimed_by_other": (
        "该待办已由 {name} 认领，仅其本人可以办理。",
        "{name} has claimed this task; only they can complete it.",
    ),
    "task.claimed_by_me": ("您已认领该待办。", "You have claimed this task."),
    "task.unclaimed": (
        "该待办尚未认领：同单位任何人都可办理，认领后他人不能办理。",
        "Nobody has claimed this task: anyone in the unit may complete it; "
        "claiming it keeps colleagues off.",
    ),
    "task.not_open": ("该待办已办结（{status}）。", "This task is closed ({status})."),
    "task.submitted_data": ("提交的内容", "Submitted"),
    "task.completed_flash": ("已提交：{name}", "Submitted: {name}"),
    "task.delegate": ("转交同事", "Delegate to a colleague"),
    "task.delegate_username": ("同事用户名", "Colleague's username"),
    "task.delegate_submit": ("转交", "Delegate"),
    "task.delegated_flash": ("已转交给 {name}", "Delegated to {name}"),
    "task.agreed_amount": ("协议金额", "Agreed amount"),
    "task.current_value": ("当前：{value}", "Now: {value}"),
    "task.view_instance": ("查看流程进度", "Show the progress"),
    "task.view_agreement": ("查看委托协议", "Show the agreement"),
    "task.choose": ("请选择", "Choose"),
    "task.claim_first": ("认领后办理", "Claim, then handle"),
    # handoff data
    "data.request_no": ("申请编号", "Request no."),
    "data.title": ("事项标题", "Title"),
    "data.item": ("清单事项", "Catalog item"),
    "data.unlisted": ("清单外事项", "Not in the catalog"),
    "data.category": ("事项类别", "Category"),
    "data.amount": ("每个社区经费", "Funds per community"),
    "data.amount_short": ("经费", "Funds"),
    "data.due_date": ("完成期限", "Due date"),
    "data.department": ("委托部门", "Department"),
    "data.street": ("街道", "Street"),
    "data.community": ("社区", "Community"),
    "data.communities": ("目标社区", "Communities"),
    "data.description": ("工作内容", "Description"),
    "data.legal_basis": ("依据", "Legal basis"),
    "data.created": ("发起时间", "Created"),
    "data.created_by": ("发起人", "Created by"),
    "data.negative_term": ("负面清单用语", "Negative-list term"),
    "data.negative_term_value": (
        "「{term}」（{item}，见于{field}）",
        "“{term}” ({item}, in the {field})",
    ),
    "data.negative_blocked": (
        "清单外事项的申请文本含负面清单用语，已直接拦截。",
        "An unlisted request whose text names a negative-list term: blocked at once.",
    ),
    "data.negative_review": (
        "申请文本含负面清单用语：须经区准入办复核，确认不属于负面清单后方可委托。",
        "The request's text names a negative-list term: the district access office must "
        "confirm it is not negative-list work before it is handed down.",
    ),
    # new request
    "new.title": ("发起委托申请", "New handoff request"),
    "new.intro": (
        "每个目标社区各自形成一条委托流程；负面清单事项和无经费的协助事项会被直接拦截。",
        "Each community gets its own handoff; negative-list items and unfunded assisted "
        "items are blocked at once.",
    ),
    "new.department": ("委托部门", "Department"),
    "new.item": ("清单事项", "Catalog item"),
    "new.item_search": ("搜索事项", "Search items"),
    "new.item_search_placeholder": (
        "名称、简称、编码或拼音首字母，如 A01、低保、db",
        "Name, short name, code or pinyin initials, e.g. A01, db",
    ),
    "new.item_none": (
        "未找到匹配的清单事项：换个说法，或选“清单外事项”",
        "No catalog item matches: try other words, or choose “not in the catalog”",
    ),
    "new.item_unlisted": (
        "（清单外事项，需区审核办复审）",
        "(not in the catalog: district review)",
    ),
    "new.item_hint": (
        "清单外事项需经区社区工作准入审核办复审。",
        "Items not in the catalog need a second review by the district access office.",
    ),
    "new.title_field": ("事项标题", "Title"),
    "new.communities": ("目标社区", "Target communities"),
    "new.communities_hint": (
        "按街道选择；勾选“整个街道”即选中该街道全部社区。",
        "Pick by street; “whole street” picks all its communities.",
    ),
    "new.whole_street": ("整个街道", "Whole street"),
    "new.selected": ("已选 {n} 个", "{n} selected"),
    "new.amount": ("每个社区经费（元）", "Funds per community (yuan)"),
    "new.amount_hint": (
        "如 5000.00；协助事项必须附带经费。",
        "E.g. 5000.00; assisted work must bring funds.",
    ),
    "new.due_date": ("完成期限", "Due date"),
    "new.description": ("工作内容", "Description of the work"),
    "new.legal_basis": ("依据", "Legal basis"),
    "new.legal_basis_hint": ("留空则使用清单事项的依据。", "Empty: the catalog item's basis."),
    "new.conditions": ("工作条件", "Working conditions"),
    "new.conditions_hint": (
        "部门为社区提供的人员、培训、设备、场地等条件；居委会签署前可就此协商。",
        "The staff, training, equipment and premises the department provides; the committee "
        "may negotiate them before signing.",
    ),
    "new.plan": ("拨付计划", "Payment plan"),
    "new.plan_hint": (
        "留空则签署后一次拨付。首期须为签署后预拨；各期按比例（%）或金额填写其一，合计须等于每个社区经费；尾款为最后一期。",
        "Empty: everything is paid on signing. The first instalment is paid on signing; give "
        "each a share (%) or an amount, adding up to the funds per community; a final "
        "payment comes last.",
    ),
    "new.plan_no": ("期次", "No."),
    "new.plan_trigger": ("拨付时点", "When paid"),
    "new.plan_share": ("比例（%）", "Share (%)"),
    "new.plan_amount": ("金额（元）", "Amount (yuan)"),
    "new.plan_on": ("拨付日期", "Date"),
    "plan.caption": ("分期拨付", "Instalments"),
    "plan.of": ("{community}的拨付计划", "Payment plan of {community}"),
    "plan.paid": ("已到账", "paid"),
    "plan.overdue": ("逾期未拨", "overdue"),
    "plan.due": ("待拨付", "due"),
    "plan.waiting": ("未到拨付时点", "not due yet"),
    "reports.negotiation": (
        "社区协商情况（按委托部门）",
        "Negotiation by the communities, per department",
    ),
    "reports.neg.reached": ("进入签署", "Reached signing"),
    "reports.neg.negotiated": ("经协商", "Negotiated"),
    "reports.neg.rounds": ("协商轮次", "Rounds"),
    "reports.neg.requested": ("原申请金额", "Amount requested"),
    "reports.neg.agreed": ("协商后金额", "Amount agreed"),
    "reports.neg.change": ("变化", "Change"),
    "reports.neg.none": (
        "统计期内没有进入签署的委托。",
        "No handoff reached signing in the period.",
    ),
    "reports.instalments": ("分期拨付", "Instalments"),
    "reports.inst.count": ("期数", "Instalments"),
    "negotiation.title": ("协商记录", "Negotiation"),
    "negotiation.count": ("{n} 轮", "{n} rounds"),
    "negotiation.round": ("第 {n} 轮", "Round {n}"),
    "negotiation.deadline": ("期限", "Deadline"),
    "negotiation.reason": ("理由", "Reason"),
    "negotiation.committee.counter": ("居委会提出协商", "the committee counter-proposed"),
    "negotiation.department.accept": ("部门接受协商条件", "the department accepted"),
    "negotiation.department.revise": ("部门修改条件", "the department revised the terms"),
    "negotiation.department.withdraw": ("部门撤回委托", "the department withdrew"),
    "plan.trigger.signing": ("签署后预拨", "on signing"),
    "plan.trigger.date": ("按约定日期拨付", "on a date"),
    "plan.trigger.acceptance": ("验收合格后拨付尾款", "after acceptance"),
    "new.check": ("检查", "Check"),
    "new.submit": ("提交申请", "Submit request"),
    "new.check_ok": (
        "检查通过：可以提交。",
        "Checked: nothing blocks this request.",
    ),
    "new.warn_negative": (
        "该事项在负面清单上，不得委托社区：提交后每个社区的流程都会被直接拦截。",
        "This item is on the negative list and may never be handed down: every handoff "
        "would be blocked at once.",
    ),
    "new.warn_forbidden": (
        "社区不得出具该证明：提交后每个社区的流程都会被直接拦截。",
        "Communities may not issue this certificate: every handoff would be blocked at once.",
    ),
    "new.warn_term_unlisted": (
        "{field}含负面清单用语「{term}」（{item}）：清单外事项提交后会被直接拦截。",
        "The {field} names a negative-list term, “{term}” ({item}): a request for an "
        "unlisted item is blocked at once.",
    ),
    "new.warn_term_listed": (
        "{field}含负面清单用语「{term}」（{item}）：提交后须经区准入办复核。",
        "The {field} names a negative-list term, “{term}” ({item}): the district access "
        "office must review the request.",
    ),
    "new.warn_unfunded": (
        "费随事转：协助事项（或清单外事项）经费为 0，提交后会因无经费被直接拦截。",
        "Funds follow the work: an assisted (or unlisted) item with amount 0 is blocked "
        "as unfunded.",
    ),
    "new.created_flash": ("申请已提交：{number}", "Request submitted: {number}"),
    "new.not_department": (
        "只有职能部门经办人可以发起委托。",
        "Only department officers may launch requests.",
    ),
    # requests list and page
    "requests.title": ("委托申请", "Requests"),
    "requests.mine": ("我的申请", "My requests"),
    "requests.empty": ("没有委托申请。", "No requests."),
    "requests.q_placeholder": ("按标题搜索", "Search titles"),
    "requests.state_of": ("各社区进度", "Per community"),
    "request.title": ("委托申请", "Request"),
    "request.communities": ("各社区办理情况", "Each community"),
    "request.current_step": ("当前环节", "Current step"),
    "request.diagram": ("流程图", "Process diagram"),
    "request.diagram_of": ("{community}的流程进度", "Progress for {community}"),
    "request.timeline": ("办理记录", "Timeline"),
    "request.money": ("经费账目", "Money trail"),
    "request.show_instance": ("查看", "Show"),
    "instance.title": ("委托流程", "Handoff"),
    "instance.state": ("状态", "State"),
    "instance.outcome": ("结果", "Outcome"),
    "instance.error": ("出错原因", "Error"),
    "instance.open_tasks": ("待办环节", "Waiting for"),
    "instance.no_open_tasks": ("没有待办环节。", "Nothing is waiting."),
    "instance.waiting_on": ("{unit}（{role}）", "{unit} ({role})"),
    "instance.cancel": ("撤销本流程", "Cancel this process"),
    "instance.cancel_reason": ("撤销原因", "Reason"),
    "instance.cancelled_flash": ("已撤销", "Cancelled"),
    "instance.request": ("所属申请", "Request"),
    "instance.version": ("流程版本", "Process version"),
    "instance.summary": ("流程概况", "Summary"),
    "instance.process": ("流程", "Process"),
    "instance.version_n": ("{name} · 第 {version} 版", "{name}, version {version}"),
    "instance.business_key": ("业务编号", "Business key"),
    "instance.started_by": ("发起人", "Started by"),
    "instance.start_data": ("发起时填写的内容", "Given at the start"),
    # processes: start one, a process's page, instances
    "processes.title": ("发起流程", "Start a process"),
    "processes.intro": (
        "这里列出您可以发起的流程，新流程使用各流程当前生效的版本。",
        "The processes you may start; each starts on its version in force.",
    ),
    "processes.empty": ("没有您可以发起的流程。", "There is no process you may start."),
    "processes.others": ("其他流程", "Other processes"),
    "processes.start": ("发起", "Start"),
    "processes.view": ("流程说明", "About the process"),
    "processes.starters": ("可发起角色", "Who may start it"),
    "processes.anyone": ("任何有角色的用户", "Anyone with a role"),
    "processes.version_n": ("第 {version} 版", "version {version}"),
    "processes.suspended": ("已暂停，暂不能发起", "Suspended: cannot start now"),
    "processes.not_yours": ("您的角色不能发起", "Your roles may not start it"),
    "processes.own_page": ("通过专门页面发起", "Started from its own page"),
    "process.versions": ("版本", "Versions"),
    "process.in_force": ("当前生效", "In force"),
    "process.suspended": ("已暂停", "Suspended"),
    "process.active": ("可用", "Active"),
    "process.suspend": ("暂停", "Suspend"),
    "process.activate": ("恢复", "Activate"),
    "process.release": ("使用此版本", "Use this version"),
    "process.suspended_flash": (
        "已暂停 {name} 第 {version} 版",
        "Suspended {name} version {version}",
    ),
    "process.activated_flash": (
        "已恢复 {name} 第 {version} 版",
        "Activated {name} version {version}",
    ),
    "process.released_flash": (
        "新流程将使用 {name} 第 {version} 版",
        "New instances start on {name} version {version}",
    ),
    "process.instances": ("流程实例", "Instances"),
    "process.no_instances": ("没有您可查看的流程实例。", "No instances you may read."),
    "process.tasks": ("办理环节", "Tasks"),
    "start.title": ("发起：{name}", "Start: {name}"),
    "start.submit": ("发起流程", "Start the process"),
    "start.business_key": ("业务编号（选填）", "Business key (optional)"),
    "start.business_key_hint": (
        "本单位自己的编号，如案卷号，便于日后查找。",
        "Your own reference, such as a case number, to find it again.",
    ),
    "start.business_key_long": ("最多 {n} 个字符", "at most {n} characters"),
    "start.no_fields": ("发起该流程无需填写内容。", "Nothing to fill in: just start it."),
    "start.started_flash": ("已发起：{name}", "Started: {name}"),
    "start.suspended": (
        "该流程当前生效的版本已暂停，暂不能发起。",
        "The version in force of this process is suspended: it cannot start now.",
    ),
    "start.forbidden": ("您的角色不能发起该流程。", "Your roles may not start this process."),
    "start.own_page": ("该流程需通过专门页面发起。", "This process is started from its own page."),
    "instances.title": ("我的流程", "My processes"),
    "instances.intro": (
        "您发起的、经办的或本单位参与的流程实例。",
        "Instances you started, worked on, or your units take part in.",
    ),
    "instances.mine": ("只看我发起的", "Started by me only"),
    "instances.empty": ("没有符合条件的流程实例。", "No instances match."),
    "instances.open_step": ("当前环节", "Current step"),
    "diagram.legend": ("图例", "Legend"),
    "diagram.done": ("已完成", "done"),
    "diagram.active": ("进行中", "active"),
    "diagram.waiting": ("等待中", "waiting"),
    "diagram.cancelled": ("已取消", "cancelled"),
    "diagram.unavailable": ("流程图暂时无法绘制。", "The diagram cannot be drawn right now."),
    "diagram.full_size": ("全尺寸查看", "Full size"),
    "diagram.zoom_in": ("放大", "Zoom in"),
    "diagram.zoom_out": ("缩小", "Zoom out"),
    "diagram.fit": ("显示全图", "Fit to view"),
    "diagram.tools": ("流程图缩放", "Diagram zoom"),
    "diagram.hint": (
        "拖动可平移；按住 Ctrl 滚动滚轮或双指捏合可缩放。",
        "Drag to pan; Ctrl + scroll or pinch to zoom.",
    ),
    # timeline
    "timeline.who": ("办理人", "Who"),
    "timeline.what": ("事件", "What"),
    "timeline.when": ("时间（北京时间）", "When (Beijing time)"),
    # money
    "money.agreed": ("协议金额", "Agreed"),
    "money.transferred": ("已拨付", "Transferred"),
    "money.outstanding": ("待拨付", "Outstanding"),
    "money.entries": ("明细", "Entries"),
    "money.kind": ("类型", "Kind"),
    "money.voucher": ("凭证号", "Voucher"),
    "money.transferred_on": ("拨付日期", "Transferred on"),
    "money.by": ("经办人", "By"),
    "money.kind.agreed": ("协议约定", "agreed"),
    "money.kind.transferred": ("拨付到账", "transferred"),
    "money.balanced": ("账目已结清", "Settled"),
    "money.no_funds": ("本委托不涉及经费。", "No funds involved."),
    "money.total": ("合计", "Total"),
    # agreement
    "agreement.title": ("社区工作事项委托协议", "Community work handoff agreement"),
    "agreement.none": (
        "协议尚未起草（审核通过后起草）。",
        "Not drafted yet (drafted after review).",
    ),
    "agreement.number": ("协议编号", "Agreement no."),
    "agreement.status": ("协议状态", "Status"),
    "agreement.party_a": ("委托方（甲方）", "Principal (party A)"),
    "agreement.party_b": ("受托方（乙方）", "Agent (party B)"),
    "agreement.party_c": ("监督方（丙方）", "Supervisor (party C)"),
    "agreement.terms": (
        "甲方将上述事项委托乙方办理，并按约定拨付工作经费；乙方按期办理并报告完成情况；"
        "丙方负责审核与监督，并对办理结果进行评价。未经准入的事项，乙方有权拒绝。",
        "Party A hands the work above to party B and transfers the agreed funds; party B does "
        "the work on time and reports; party C reviews, supervises and evaluates the result. "
        "Party B may refuse work that was not approved.",
    ),
    "agreement.signatures": ("签署", "Signatures"),
    "agreement.party": ("签署方", "Party"),
    "agreement.signer": ("签署人", "Signed by"),
    "agreement.decision": ("决定", "Decision"),
    "agreement.signed_at": ("签署时间", "Signed at"),
    "agreement.not_signed": ("待签署", "not yet signed"),
    "agreement.printable": ("打印版", "Printable"),
    "agreement.status.draft": ("签署中", "being signed"),
    "agreement.status.signed": ("已生效", "in force"),
    "agreement.status.refused": ("已拒签", "refused"),
    # the agreement as a document (templates/_agreement_document.html)
    "agreement.article_no": ("第{n}条", "Article {n}"),
    "agreement.article.work": ("委托事项", "Work handed over"),
    "agreement.article.authority": ("委托权限与依据", "Authority and legal basis"),
    "agreement.article.period": ("委托期限", "Period"),
    "agreement.article.acceptance": ("验收标准", "Standard of acceptance"),
    "agreement.article.conditions": ("工作条件", "Working conditions"),
    "agreement.article.money": ("工作经费", "Funds"),
    "agreement.article.breach": ("违约责任", "Breach"),
    "agreement.article.variation": ("协议变更", "Variation"),
    "agreement.article.termination": ("协议终止", "Termination"),
    "agreement.article.dispute": ("争议解决", "Disputes"),
    "agreement.article.other": ("其他约定", "Other terms"),
    "agreement.blank": ("待填写", "to be filled in"),
    "agreement.contact_name": ("联系人", "Contact"),
    "agreement.contact_phone": ("联系电话", "Phone"),
    "agreement.contact": ("联系人及电话", "Contact and phone"),
    "agreement.preamble": (
        "为落实社区工作事项准入制度，按照“权随责走、费随事转”的原则，经甲、乙、丙三方协商一致，"
        "就甲方委托乙方办理下列事项订立本协议，共同遵守。",
        "Under the community work access system, and the rule that authority and funds follow "
        "the work, the three parties agree as follows on the work party A hands to party B.",
    ),
    "agreement.work_intro": ("甲方委托乙方办理：", "Party A hands to party B: "),
    "agreement.item_ref": ("（准入清单事项 {code} {name}）", " (catalog item {code} {name})"),
    "agreement.powers": ("委托权限", "Authority handed over"),
    "agreement.legal_basis": ("依据", "Legal basis"),
    "agreement.unspecified": ("未约定", "not agreed"),
    "agreement.period": ("自 {start} 起至 {end} 止。", "From {start} to {end}."),
    "agreement.period_from_signing": (
        "自本协议生效之日起至 {end} 止。",
        "From the day this agreement comes into force to {end}.",
    ),
    "agreement.acceptance_default": (
        "乙方完成委托事项后报告完成情况，由甲方验收。",
        "Party B reports the work done; party A accepts it.",
    ),
    "agreement.conditions_default": (
        "甲方为乙方提供办理委托事项所需的人员培训、设备和场地等工作条件，具体由甲、乙双方另行商定。",
        "Party A provides the training, equipment and premises party B needs for the work, "
        "as parties A and B agree separately.",
    ),
    "agreement.amount_total": (
        "本协议工作经费总额为人民币 {amount} 元",
        "The funds of this agreement total CNY {amount}",
    ),
    "agreement.words_open": ("（大写：", " (in words: "),
    "agreement.words_close": ("）", ")"),
    "agreement.permitted_use": ("经费使用范围", "The funds may be used for"),
    "agreement.payment": ("拨付方式", "Payment"),
    "agreement.payment_once": (
        "本协议生效后，由财政部门一次性拨付至乙方。",
        "Transferred to party B in full by the finance office once this agreement is in force.",
    ),
    "agreement.plan.seq": ("期次", "Instalment"),
    "agreement.plan.trigger": ("拨付条件", "When"),
    "agreement.plan.on": ("拨付日期", "Date"),
    "agreement.plan.amount": ("金额", "Amount"),
    "agreement.trigger.signing": ("签署后预拨", "advance on signing"),
    "agreement.trigger.date": ("按约定日期拨付", "on the agreed date"),
    "agreement.trigger.acceptance": ("验收合格后拨付尾款", "balance after acceptance"),
    "agreement.signatures_note": ("（以下无正文）", "(No further text.)"),
    "agreement.seal.department": ("甲方（盖章）", "Party A (seal)"),
    "agreement.seal.committee": ("乙方（盖章）", "Party B (seal)"),
    "agreement.seal.street_office": ("丙方（盖章）", "Party C (seal)"),
    "agreement.signer_line": ("负责人或授权代表签字", "Signed by its head or representative"),
    "agreement.date": ("日期", "Date"),
    "agreement.date_blank": ("　　年　　月　　日", "____-__-__"),
    "agreement.in_force_on": (
        "本协议于 {day} 经三方签署生效。",
        "In force since {day}, signed by all three parties.",
    ),
    "agreement.download_pdf": ("下载 PDF", "Download PDF"),
    # the agreement's terms in the new-request form
    "new.terms": ("委托协议条款", "Agreement terms"),
    "new.terms_hint": (
        "以下内容写入每个社区的委托协议；违约、变更、终止、争议解决等固定条款按事项类别的协议模板生成。"
        "全部留空时，协议中相应处留空，签署时手写。",
        "Written into each community's agreement; the fixed clauses (breach, variation, "
        "termination, disputes) come from the template of the item's category. Left empty, the "
        "agreement has blanks to fill in by hand.",
    ),
    "new.terms.contact_name": ("甲方联系人", "Department contact"),
    "new.terms.contact_phone": ("联系电话", "Contact phone"),
    "new.terms.contact_phone_hint": (
        "手机号，或带区号的固定电话，如 0436-1234567",
        "A mobile, or a landline with its area code, e.g. 0436-1234567",
    ),
    "new.terms.committee_contact": ("乙方联系人", "Committee contact"),
    "new.terms.committee_contact_hint": (
        "姓名及电话；发给多个社区时可留空",
        "Name and phone; may be left empty for many communities",
    ),
    "new.terms.start_date": ("开始日期", "Start date"),
    "new.terms.start_date_hint": (
        "不早于今天，不晚于完成期限",
        "From today, not after the due date",
    ),
    "new.terms.authority": ("委托权限", "Authority handed over"),
    "new.terms.authority_hint": (
        "乙方办理本事项可以行使的权限，如入户调查、信息采集、材料初审",
        "What the committee may do for the work, e.g. home visits, collecting information, "
        "checking documents",
    ),
    "new.terms.acceptance_standard": ("验收标准", "Standard of acceptance"),
    "new.terms.acceptance_standard_hint": (
        "甲方据以验收的标准：数量、质量、应提交的材料",
        "What the work is accepted by: quantity, quality, documents to hand in",
    ),
    "new.terms.permitted_use": ("经费使用范围", "Permitted use of the funds"),
    "new.terms.permitted_use_hint": (
        "有经费时必填，如入户交通、资料印制、人员补贴",
        "Required when there is money, e.g. travel for home visits, printing, allowances",
    ),
    # the agreement templates and legal names (administration)
    "admin.legal_name": ("法定全称", "Full legal name"),
    "admin.legal_name_hint": (
        "协议等文书使用的全称，如“海明社区居民委员会”；留空则使用名称",
        "The name documents such as agreements use, e.g. Haiming Community Residents' "
        "Committee; empty: the name",
    ),
    "admin.agreement_templates": ("协议模板", "Agreement templates"),
    "admin.templates_intro": (
        "每类事项一份委托协议模板。起草协议时复制当时有效的固定条款，之后修改模板不影响已起草或已签署的协议。",
        "One agreement template per category. An agreement copies the fixed clauses in force "
        "when it is drafted: a later edit changes no agreement drafted or signed before.",
    ),
    "admin.template_clauses": ("条款", "Clauses"),
    "admin.template_updated": ("最近修改", "Last changed"),
    "admin.template_default": ("默认条款", "defaults"),
    "admin.edit_template": ("修改协议模板", "Edit the agreement template"),
    "admin.template_hint": (
        "带 * 的条款必填，每条最多 4000 字；协议终止条款应写明终止委托流程。",
        "Clauses marked * are required, at most 4000 characters each; the termination clause "
        "should describe the termination process.",
    ),
    "party.department": ("委托部门", "Department"),
    "party.committee": ("社区居委会", "Residents' committee"),
    "party.street_office": ("街道办事处", "Street office"),
    # finance
    "finance.title": ("经费拨付", "Fund transfers"),
    "finance.waiting": ("待确认拨付", "Waiting for confirmation"),
    "finance.waiting_empty": ("没有待确认的拨付。", "No transfers are waiting."),
    "finance.confirmed": ("已确认拨付", "Confirmed transfers"),
    "finance.confirmed_empty": ("还没有已确认的拨付。", "No confirmed transfers yet."),
    "finance.confirm": ("确认拨付", "Confirm"),
    "finance.only": ("仅财政人员可查看。", "Finance officers only."),
    # reports (减负看板)
    "nav.reports": ("减负看板", "Burden reduction"),
    "reports.title": ("减负看板", "Burden-reduction dashboard"),
    "admin.effective": ("有效期", "In force"),
    "admin.catalog_history": (
        "显示全部条目（含已失效和未生效的）",
        "Show every entry, past and future",
    ),
    "admin.catalog_today": ("只显示今天有效的条目", "Show the entries in force today"),
    "reports.emergency": ("临时性紧急事项", "Emergency orders"),
    "reports.emergency_orders": ("紧急任务", "Orders"),
    "reports.emergency_late": ("逾期未补办手续", "Filed late"),
    "reports.emergency_open": ("待补办", "Awaiting filing"),
    "reports.emergency_filed": ("已补办", "Filed"),
    "reports.emergency_note": (
        "街道先下达、部门事后补办委托申请、协议和经费；补办超过 5 个工作日即为逾期",
        "Ordered by a street office at once; the department files the request, agreement and "
        "money afterwards, late after 5 working days",
    ),
    "reports.filters": ("统计条件", "Report filters"),
    "reports.from": ("开始日期", "From"),
    "reports.to": ("结束日期", "To"),
    "reports.to_hint": ("不含当天（北京时间）", "Exclusive (Beijing time)"),
    "reports.department": ("委托部门", "Department"),
    "reports.street": ("街道", "Street"),
    "reports.bad_date": ("日期格式应为 年-月-日", "Use a date like 2026-03-01"),
    "reports.bad_period": ("结束日期须晚于开始日期", "'To' must be after 'from'"),
    "reports.period_text": ("{start} 至 {end}（不含）发起的委托", "Requests made {start} to {end}"),
    "reports.this_month": ("本月", "This month"),
    "reports.this_year": ("本年", "This year"),
    "reports.all_time": ("全部时间", "All time"),
    "reports.scope_own": ("仅含您所在单位的委托", "Only your units' handoffs"),
    "reports.export_xlsx": ("导出 Excel", "Excel"),
    "reports.export_csv": ("导出 CSV", "CSV"),
    "reports.export_stages": ("环节时长 CSV", "Stage times CSV"),
    "reports.q_unfunded": (
        "哪个部门下派的无经费事项最多",
        "Which department hands down the most unfunded work",
    ),
    "reports.q_holding": ("哪个街道压件时间最长", "Which street holds requests longest"),
    "reports.answer_unfunded": ("：无经费被拦截 {n} 件", ": {n} blocked as unfunded"),
    "reports.answer_unfunded_none": (
        "统计期内没有无经费被拦截的委托。",
        "No request was blocked as unfunded in this period.",
    ),
    "reports.answer_holding": ("：平均每件压 {days} 天", ": {days} days per handoff on average"),
    "reports.answer_holding_none": ("统计期内街道没有经手委托。", "No street held a request."),
    "reports.chart_unfunded": (
        "各部门被拦截的委托数（按无经费排序），点击柱条查看明细。",
        "Blocked handoffs per department, most unfunded first; click a bar for the list.",
    ),
    "reports.chart_holding": (
        "街道待办在手时间按委托合计后的平均天数，点击柱条查看明细。",
        "Average days a street office held each handoff; click a bar for the list.",
    ),
    "reports.totals": ("总体情况", "Totals"),
    "reports.by_department": ("按部门", "By department"),
    "reports.by_street": ("按街道", "By street"),
    "reports.by_community": ("按社区", "By community"),
    "reports.unit_department": ("部门", "Department"),
    "reports.unit_street": ("街道", "Street"),
    "reports.unit_community": ("社区", "Community"),
    "reports.focus": ("只看该单位", "Show only this unit"),
    "reports.hold_department": ("部门压件（天）", "Department held (days)"),
    "reports.hold_street": ("街道压件（天）", "Street held (days)"),
    "reports.hold_community": ("社区压件（天）", "Committee held (days)"),
    "reports.hold_days": ("平均压件天数", "Average days held"),
    "reports.days_unit": (" 天", " d"),
    "reports.fig.requests": ("委托申请", "Requests"),
    "reports.fig.instances": ("委托（按社区）", "Handoffs"),
    "reports.fig.blocked": ("被拦截", "Blocked"),
    "reports.fig.running": ("办理中", "Running"),
    "reports.fig.work_before_money": ("经费未到先开工", "Work before money"),
    "reports.fig.overdue_now": ("当前超期待办", "Overdue now"),
    "reports.fig.overdue_tasks": ("曾超期环节", "Stages overdue"),
    "reports.fig.avg_score": ("平均评分", "Average score"),
    "reports.figure.instances": ("全部委托", "all handoffs"),
    "reports.figure.blocked": ("被拦截", "blocked"),
    "reports.figure.funded": ("有协议经费", "with agreed money"),
    "reports.figure.outstanding": ("有待拨付经费", "money outstanding"),
    "reports.figure.work_before_money": ("经费未到先开工", "work before money"),
    "reports.figure.overdue_now": ("当前超期", "overdue now"),
    "reports.figure.overdue": ("曾超期", "ever overdue"),
    "reports.figure.evaluated": ("已评价", "evaluated"),
    "reports.work_before_money_ok": (
        "经费未到先开工：0 件，费随事转得到落实。",
        "Work before money: none. Funds followed the work.",
    ),
    "reports.work_before_money_bad": (
        "有 {n} 件委托在经费拨付前就已开工，违反“费随事转”。",
        "{n} handoffs started work before the money arrived.",
    ),
    "reports.stages": ("各环节办理时长与超期", "Stage durations and overdue"),
    "reports.stages_hint": (
        "时长为已办结待办从到达到办结的小时数。",
        "Hours from arrival to completion of completed tasks.",
    ),
    "reports.stage": ("环节", "Stage"),
    "reports.stage_tasks": ("待办数", "Tasks"),
    "reports.stage_completed": ("已办结", "Completed"),
    "reports.stage_overdue": ("曾超期", "Ever overdue"),
    "reports.stage_overdue_now": ("当前超期", "Overdue now"),
    "reports.median_hours": ("中位数（小时）", "Median (hours)"),
    "reports.p90_hours": ("90 分位（小时）", "90th percentile (hours)"),
    "reports.definitions": ("统计口径", "Definitions"),
    "reports.def_instances": (
        "统计期内（北京时间）发起的委托申请；每个目标社区一条委托，各数字为委托条数。",
        "Requests made in the period (Beijing time); one handoff per community.",
    ),
    "reports.def_money": (
        "协议金额与已拨付为经费账目之和，精确到分；"
        "待拨付 = 协议金额 − 已拨付（已终止的委托不计）。",
        "Agreed and transferred are sums of the money ledger, to the fen; outstanding is "
        "their difference (terminated handoffs owe nothing).",
    ),
    "reports.def_work_before_money": (
        "协议有经费、但在财政确认拨付前就生成了社区办理任务的委托，应为 0。",
        "Funded handoffs whose work task existed before the transfer was confirmed; must be 0.",
    ),
    "reports.def_overdue": (
        "过期后才办结、被超期上报，或现在仍超期的待办。",
        "Tasks completed after their due time, escalated, or open past it now.",
    ),
    "reports.def_durations": (
        "已办结待办从到达到办结的小时数的中位数与 90 分位（线性插值）。",
        "Median and 90th percentile (linear interpolation) of hours to completion.",
    ),
    "reports.def_hold": (
        "该方待办在手的时间（到办结、撤回或现在）按委托合计，再对经手的委托取平均。",
        "Time the party's tasks were open (to completion, withdrawal or now), summed per "
        "handoff and averaged over the handoffs it touched.",
    ),
    "reports.drill_title": ("委托明细", "Handoffs"),
    "reports.drill_empty": ("没有符合条件的委托。", "No handoffs match."),
    "reports.back": ("返回减负看板", "Back to the dashboard"),
    # admin
    "admin.title": ("系统管理", "Administration"),
    "admin.users": ("用户与角色", "Users and memberships"),
    "admin.org_units": ("组织机构", "Org units"),
    "admin.catalog": ("事项清单", "Catalog"),
    "admin.processes": ("流程版本", "Process versions"),
    "admin.only": ("仅系统管理员可访问。", "Administrators only."),
    "admin.username": ("用户名", "Username"),
    "admin.display_name": ("姓名", "Display name"),
    "admin.password": ("初始密码（至少10位）", "Initial password (10+ characters)"),
    "admin.memberships": ("角色与单位", "Memberships"),
    "admin.role": ("角色", "Role"),
    "admin.org_unit": ("单位", "Org unit"),
    "admin.active": ("启用", "Active"),
    "admin.inactive": ("已停用", "Deactivated"),
    "admin.deactivate": ("停用", "Deactivate"),
    "admin.activate": ("启用", "Activate"),
    "admin.new_user": ("新建用户", "New user"),
    "admin.add_membership": ("添加角色", "Add membership"),
    "admin.remove": ("移除", "Remove"),
    "admin.kind": ("类型", "Kind"),
    "admin.parent": ("上级单位", "Parent"),
    "admin.new_unit": ("新建单位", "New org unit"),
    "admin.units_count": ("下级单位", "Children"),
    "admin.new_item": ("新增事项", "New catalog item"),
    "admin.edit_item": ("修改事项", "Edit catalog item"),
    "admin.category": ("类别", "Category"),
    "admin.legal_basis": ("依据", "Legal basis"),
    "admin.process_key": ("流程标识", "Process key"),
    "admin.version": ("版本", "Version"),
    "admin.deployed_at": ("部署时间", "Deployed"),
    "admin.deployed_by": ("部署人", "Deployed by"),
    "admin.instances": ("实例数", "Instances"),
    "admin.upload": ("上传 BPMN 文件部署新版本", "Upload a BPMN file as a new version"),
    "admin.bpmn_file": ("BPMN 文件", "BPMN file"),
    "admin.deploy": ("部署", "Deploy"),
    "admin.deployed_flash": (
        "已部署 {process} 第 {version} 版",
        "Deployed {process} version {version}",
    ),
    "admin.unchanged_flash": (
        "文件未改变：仍为 {process} 第 {version} 版",
        "Unchanged file: still {process} version {version}",
    ),
    "admin.deploy_failed": ("部署失败", "Deployment refused"),
    "admin.no_file": ("请选择 BPMN 文件", "choose a BPMN file"),
    "admin.running_stay": (
        "运行中的流程保持原版本；新流程使用当前生效的版本（未另行指定时为最新的未暂停版本）。",
        "Running instances stay on their version; new ones start on the version in force "
        "(unless one is chosen, the newest that is not suspended).",
    ),
    "admin.not_utf8": ("BPMN 文件须为 UTF-8 编码", "The BPMN file must be UTF-8"),
    "admin.problems": ("文件有 {n} 个问题，未部署：", "{n} problems found; nothing was deployed:"),
    "admin.whole_file": ("整个文件", "The file as a whole"),
    "admin.by_state": ("各状态实例数", "Instances by state"),
    "admin.roles": ("角色", "Roles"),
    "admin.roles_intro": (
        "流程图中的任务以角色代码指定办理角色，待办按角色与单位分派。",
        "Tasks in a diagram name their role by its key; tasks go to that role at the unit.",
    ),
    "admin.role_key": ("角色代码", "Role key"),
    "admin.role_key_hint": (
        "小写字母开头，可含小写字母、数字和下划线，2–32 位；创建后不能修改。",
        "2–32 lowercase letters, digits or underscores, starting with a letter; fixed once made.",
    ),
    "admin.role_name_zh": ("中文名称", "Chinese name"),
    "admin.role_name_en": ("英文名称", "English name"),
    "admin.unit_kind": ("所在单位类型", "Kind of org unit"),
    "admin.new_role": ("新增角色", "New role"),
    "admin.role_exists": ("角色代码已存在", "a role with this key exists"),
    "admin.role_created_flash": ("已新增角色：{name}", "Role added: {name}"),
    "admin.role_error.key": (
        "角色代码应为小写字母开头的字母、数字或下划线（2–32 位）",
        "a lowercase letter, then lowercase letters, digits or underscores (2–32 in all)",
    ),
    "admin.role_error.name_zh": (
        "请填写中文名称（最多 100 字）",
        "enter a Chinese name (at most 100 characters)",
    ),
    "admin.role_error.name_en": (
        "请填写英文名称（最多 100 字）",
        "enter an English name (at most 100 characters)",
    ),
    "admin.role_error.unit_kind": ("请选择单位类型", "choose a kind of org unit"),
    # the admin actions' refusals (workflows.admin.REASONS), next to the field they concern
    "admin.error.invalid": ("输入有误", "invalid input"),
    "admin.error.required": ("必填", "required"),
    "admin.error.invalid_username": (
        "用户名为 2–64 位英文字母、数字、点、下划线或连字符",
        "2–64 letters, digits, dots, underscores or hyphens",
    ),
    "admin.error.invalid_name": (
        "请填写一行文字，最多 200 字",
        "one line of text, at most 200 characters",
    ),
    # a text refused by the rule every input follows (workflows.inputs)
    "admin.error.too_long": ("最多 {limit} 个字符", "at most {limit} characters"),
    "admin.error.control": ("不能包含控制字符", "no control characters"),
    "admin.error.invisible": ("须包含可见的文字", "must contain visible characters"),
    "admin.error.unstorable": (
        "不能包含空字符或无效的 Unicode 字符",
        "no NUL characters or invalid Unicode",
    ),
    "admin.error.invalid_password": ("密码须为 10–200 位", "10 to 200 characters"),
    "admin.error.invalid_unit_code": (
        "编码为 1–64 位英文字母、数字或连字符",
        "1–64 letters, digits or hyphens",
    ),
    "admin.error.invalid_item_code": (
        "编码为 1–32 位英文字母、数字或连字符",
        "1–32 letters, digits or hyphens",
    ),
    "admin.error.invalid_kind": ("请选择单位类型", "choose a kind of org unit"),
    "admin.error.invalid_category": ("请选择类别", "choose a category"),
    "admin.error.invalid_flag": ("请选择是或否", "choose yes or no"),
    "admin.error.unknown_field": ("不能修改这一项", "this cannot be changed"),
    "admin.error.user_exists": ("用户名已存在", "this username is taken"),
    "admin.error.code_exists": ("编码已存在", "this code is taken"),
    "admin.error.membership_exists": ("已有该角色", "already a member in that role"),
    "admin.error.duplicate_membership": (
        "同一角色和单位只能设一次",
        "a membership is listed twice",
    ),
    "admin.error.unknown_org_unit": ("没有这个单位", "no such org unit"),
    "admin.error.unknown_parent": ("没有这个上级单位", "no such parent unit"),
    "admin.error.unknown_role": ("没有这个角色", "no such role"),
    "admin.error.role_unit_kind": (
        "该角色不能设在这类单位",
        "this role cannot be held at that kind of org unit",
    ),
    "admin.error.cycle": (
        "上级单位不能是它自己或它的下级单位",
        "a unit cannot sit under itself or under one of its own units",
    ),
    "admin.error.self_deactivation": ("不能停用自己的账号", "you cannot deactivate yourself"),
    "admin.error.invalid_year": ("年份应在 2000–2100 之间", "a year from 2000 to 2100"),
    "admin.error.invalid_date": ("日期格式应为 2027-01-01", "a date like 2027-01-01"),
    "admin.error.invalid_list": ("格式有误", "not a list"),
    "admin.error.date_outside_year": ("日期不在该年内", "the date is not in this year"),
    "admin.error.date_order": (
        "结束日期应不早于起始日期，且一段假期不超过 31 天",
        "the end must not be before the start, and a period is at most 31 days",
    ),
    "admin.error.overlap": ("日期重复", "this date is given twice"),
    "admin.error.not_weekend": ("调休上班日应为周六或周日", "must be a Saturday or Sunday"),
    "admin.error.no_holidays": ("请填写该年的假日", "enter the year's holidays"),
    # the statutory calendar page
    "admin.calendar": ("法定节假日", "Public holidays"),
    "calendar.missing": (
        "{year} 年的假日安排尚未录入：落在该年的期限暂按周末计算，录入后自动重新计算。",
        "The holidays of {year} are not entered yet: due dates in that year are counted on "
        "weekends only, and counted again once they are entered.",
    ),
    "calendar.year_title": ("{year} 年假日安排", "Holidays of {year}"),
    "calendar.intro": (
        "按国务院办公厅关于节假日安排的通知录入：放假日期（含周末）与调休上班日期。",
        "As the State Council's notice on the holiday arrangements gives them: the days off "
        "(weekends included) and the adjusted working days.",
    ),
    "calendar.not_entered": ("尚未录入", "not entered yet"),
    "calendar.source": ("来源", "Source"),
    "calendar.source.library": ("随系统提供", "shipped with the system"),
    "calendar.source.admin": ("管理员录入", "entered by an administrator"),
    "calendar.notice": ("通知文号", "Notice"),
    "calendar.notice_hint": ("例如 国办发明电〔2026〕7号", "the number of the notice, as issued"),
    "calendar.holidays": ("放假", "Days off"),
    "calendar.holidays_hint": (
        "每行一段：名称 起始日期 结束日期，例如 春节 2027-02-06 2027-02-13",
        "one period per line: name, first day, last day, "
        "e.g. Spring Festival 2027-02-06 2027-02-13",
    ),
    "calendar.workdays": ("调休上班", "Adjusted working days"),
    "calendar.workdays_hint": (
        "每行一天：名称 日期（周六或周日），例如 春节 2027-02-14",
        "one day per line: name and date (a Saturday or Sunday), e.g. Spring Festival 2027-02-14",
    ),
    "calendar.line_error": ("第 {line} 行：{message}", "line {line}: {message}"),
    "calendar.save": ("保存 {year} 年假日安排", "Save the holidays of {year}"),
    "calendar.entered_flash": (
        "已保存 {year} 年假日安排，重新计算了 {moved} 个期限",
        "The holidays of {year} are saved; {moved} due date(s) counted again",
    ),
    "calendar.years": ("已录入的年份", "Years entered"),
    "calendar.year": ("年份", "Year"),
    "calendar.holiday_days": ("放假天数", "Days off"),
    "calendar.workday_days": ("调休上班天数", "Adjusted working days"),
    "admin.edit_unit": ("修改单位", "Edit org unit"),
    "admin.top_level": ("（无，顶级单位）", "(none: a top-level unit)"),
    # labels of data values
    "role.department": ("职能部门", "Department"),
    "role.street_office": ("街道办事处", "Street office"),
    "role.district_reviewer": ("区准入审核办", "District access office"),
    "role.committee": ("社区居委会", "Residents' committee"),
    "role.finance": ("财政", "Finance"),
    "role.admin": ("系统管理员", "Administrator"),
    "state.running": ("进行中", "running"),
    "state.completed": ("已结束", "finished"),
    "state.cancelled": ("已撤销", "cancelled"),
    "state.error": ("出错", "error"),
    "outcome.completed": ("已完成", "completed"),
    "outcome.rejected": ("已驳回", "rejected"),
    "outcome.refused": ("社区拒签", "refused"),
    "outcome.blocked_negative_list": ("负面清单拦截", "blocked: negative list"),
    "outcome.blocked_forbidden_certificate": (
        "不得出具证明拦截",
        "blocked: certificate communities may not issue",
    ),
    "outcome.blocked_unfunded": ("无经费拦截", "blocked: unfunded"),
    "outcome.cancelled": ("已撤销", "cancelled"),
    "outcome.withdrawn": ("部门撤回", "withdrawn"),
    "task_status.open": ("待办", "open"),
    "task_status.completed": ("已办结", "completed"),
    "task_status.withdrawn": ("已撤回", "withdrawn"),
    "category.assisted": ("依法协助事项", "assisted"),
    "category.self_governance": ("自治事项", "self-governance"),
    "category.negative": ("负面清单", "negative list"),
    "category.certificate_allowed": ("可出具证明", "certificate allowed"),
    "category.certificate_forbidden": ("不得出具证明", "certificate forbidden"),
    "category.unlisted": ("清单外事项", "not in the catalog"),
    "kind.district": ("区", "district"),
    "kind.street": ("街道", "street"),
    "kind.community": ("社区", "community"),
    "kind.department": ("职能部门", "department"),
    "kind.finance": ("财政", "finance office"),
    "kind.access_office": ("准入审核办", "access office"),
    "decision.approve": ("同意", "approve"),
    "decision.reject": ("驳回", "reject"),
    "decision.revise": ("退回修改", "send back for revision"),
    "decision.sign": ("签署", "sign"),
    "decision.refuse": ("拒签", "refuse"),
    "decision.accept": ("验收通过", "accept"),
    "decision.rework": ("返工", "rework"),
    "decision.counter": ("协商", "counter-propose"),
    "decision.accept_counter": ("接受协商条件", "accept the proposal"),
    "decision.revise_offer": ("修改条件", "revise the terms"),
    "decision.withdraw": ("撤回委托", "withdraw"),
    "taskname.street_review": ("街道审核", "Street review"),
    "taskname.district_review": ("区准入审核", "District review"),
    "taskname.revise": ("修改申请", "Revise the request"),
    "taskname.sign_department": ("部门签署协议", "Department signs"),
    "taskname.sign_committee": ("居委会签署协议", "Committee signs"),
    "taskname.sign_street": ("街道签署协议", "Street office signs"),
    "taskname.funding": ("确认经费拨付", "Confirm the transfer"),
    "taskname.consider_counter": ("部门回应协商", "Department answers the counter-proposal"),
    "taskname.funding_instalment": ("按期拨付经费", "Confirm a dated instalment"),
    "taskname.funding_final": ("拨付尾款", "Confirm the final payment"),
    "taskname.work": ("社区办理并报告", "Do the work and report"),
    "taskname.acceptance": ("部门验收", "Acceptance"),
    "taskname.evaluation": ("街道评价", "Evaluation"),
    # audit actions
    "action.request.created": ("发起委托申请", "request created"),
    "action.instance.started": ("流程启动", "process started"),
    "action.instance.completed": ("流程结束", "process finished"),
    "action.instance.cancelled": ("流程撤销", "process cancelled"),
    "action.message.delivered": ("收到消息", "message received"),
    "action.attachment.added": ("上传附件", "attachment added"),
    "action.instance.error": ("流程出错", "process error"),
    "action.task.created": ("待办生成", "task opened"),
    "action.task.completed": ("办理完成", "task completed"),
    "action.task.claimed": ("认领待办", "task claimed"),
    "action.task.unclaimed": ("释放待办", "task released"),
    "action.task.delegated": ("转交待办", "task delegated"),
    "action.task.withdrawn": ("待办撤回", "task withdrawn"),
    "action.task.escalated": ("超期上报", "overdue: escalated"),
    "action.timer.fired": ("期限已到", "deadline reached"),
    "action.agreement.drafted": ("起草委托协议", "agreement drafted"),
    "action.agreement.signed": ("协议三方签署生效", "agreement signed by all"),
    "action.agreement.refused": ("协议被拒签", "agreement refused"),
    "action.money.agreed": ("约定经费", "funds agreed"),
    "action.money.transferred": ("经费拨付到账", "funds transferred"),
    # termination
    "outcome.terminated": ("已终止", "terminated"),
    "outcome.handoff_termination.refused": ("未获同意", "not agreed"),
    "outcome.handoff_termination.terminated": ("委托已终止", "handoff terminated"),
    "agreement.status.terminated": ("已终止", "terminated"),
    "agreement.status.cancelled": ("已撤销", "cancelled"),
    "agreement.status.withdrawn": ("部门已撤回", "withdrawn"),
    "agreement.version": ("第 {n} 稿（经协商重新起草）", "draft {n} (redrafted after negotiation)"),
    "agreement.terminated_at": ("终止日期", "Terminated on"),
    "agreement.termination_reason": ("终止原因", "Reason for termination"),
    "agreement.terminated_note": (
        "本协议已于 {day} 终止，经费按终止时的结算方案处理（见经费账目）。",
        "This agreement was terminated on {day}; the money was settled as the termination "
        "says (see the money trail).",
    ),
    "money.refunded": ("已退回", "Refunded"),
    "money.kept": ("社区留用", "Kept by the committee"),
    "money.kind.refunded": ("终止退回", "refunded"),
    "money.kind.kept": ("终止留用", "kept"),
    "money.terminated_note": (
        "委托已终止，不再有待拨付经费。",
        "The handoff was terminated: nothing more is owed.",
    ),
    "termination.request": ("申请终止", "Ask for termination"),
    "termination.title": ("申请终止委托", "Ask to terminate a handoff"),
    "termination.intro": (
        "协议已生效，不能撤销，只能终止。请说明原因，并对已拨付的经费提出结算方案："
        "退回金额与社区留用金额之和须等于已拨付金额。街道办事处、社区居委会确认后"
        "（有退款的，由财政确认退款到账），委托终止。",
        "The agreement is in force: the handoff can no longer be cancelled, only terminated. "
        "Give the reason and say how the money transferred is settled: the refund and what "
        "the committee keeps must add up to the money transferred. Once the street office "
        "and the committee agree (and finance confirms a refund arrived), the handoff ends.",
    ),
    "termination.handoff": ("被终止的委托", "Handoff"),
    "termination.agreement": ("委托协议", "Agreement"),
    "termination.agreed": ("协议金额", "Agreed"),
    "termination.transferred": ("已拨付", "Transferred so far"),
    "termination.reason": ("终止原因", "Reason"),
    "termination.refund": ("退回金额（元）", "Refund (yuan)"),
    "termination.refund_hint": (
        "退回职能部门的金额，由财政确认到账",
        "Money going back to the department; finance confirms it arrived",
    ),
    "termination.kept": ("社区留用金额（元）", "Kept by the committee (yuan)"),
    "termination.kept_hint": (
        "社区为已完成的工作留用的金额",
        "Money the committee keeps for the work it has done",
    ),
    "termination.submit": ("提交终止申请", "Ask for termination"),
    "termination.started_flash": (
        "已提交终止申请，待街道办事处和社区居委会确认",
        "Termination requested: the street office and the committee confirm it next",
    ),
    "termination.pending": ("终止申请办理中", "Termination pending"),
    "termination.latest": ("终止申请", "Termination"),
    "termination.view": ("查看终止申请", "View the termination"),
    "termination.of_handoff": ("被终止的委托", "The handoff it concerns"),
    "termination.no_cancel": (
        "协议已生效，不能撤销；如需提前结束，请申请终止。",
        "The agreement is in force: it cannot be cancelled, ask for termination instead.",
    ),
    "decision.agree": ("同意", "agree"),
    "decision.disagree": ("不同意", "disagree"),
    "taskname.street_confirm": ("街道确认终止", "Street office confirms the termination"),
    "taskname.committee_confirm": ("社区确认终止", "Committee confirms the termination"),
    "taskname.refund_received": ("确认退款到账", "Confirm the refund arrived"),
    "action.termination.requested": ("申请终止委托", "termination requested"),
    "action.termination.refused": ("终止申请未获同意", "termination not agreed"),
    "action.instance.terminated": ("委托终止", "handoff terminated"),
    "action.agreement.terminated": ("协议终止", "agreement terminated"),
    "action.money.refunded": ("经费退回到账", "funds refunded"),
    "action.money.kept": ("经费由社区留用", "funds kept by the committee"),
    "field.refund": ("退回", "Refund"),
    "field.kept": ("留用", "Kept"),
    "reports.def_terminated": (
        "协议生效后经三方确认终止的委托；其未拨付的协议金额不再计入待拨付，"
        "已拨付的经费按结算方案退回或由社区留用。",
        "Handoffs terminated after signing, with all three parties' consent: their unpaid "
        "agreed money no longer counts as outstanding; what was transferred was refunded or "
        "kept by the committee.",
    ),
    # notifications
    "nav.messages": ("站内消息", "Messages"),
    "nav.unread": ("未读消息", "unread messages"),
    "nav.settings": ("通知设置", "Notification settings"),
    "notify.title": ("站内消息", "Messages"),
    "notify.unread": ("未读", "Unread"),
    "notify.read": ("已读", "Read"),
    "notify.mark_read": ("标为已读", "Mark read"),
    "notify.mark_all_read": ("全部标为已读", "Mark all read"),
    "notify.marked_all": ("已全部标为已读", "All messages are marked read"),
    "notify.empty": ("暂无消息", "No messages"),
    "notify.view": ("查看", "View"),
    "notify.items_n": ("共 {n} 项", "{n} items"),
    "notify.received": ("收到时间", "Received"),
    "notify.kind.task_opened": ("新待办", "New task"),
    "notify.kind.due_soon": ("即将到期", "Due soon"),
    "notify.kind.overdue": ("已超期", "Overdue"),
    "notify.kind.escalated": ("超期督办", "Escalated"),
    "notify.kind.request_decided": ("办理结果", "Decision"),
    "notify.kind.money_confirmed": ("经费到账", "Funds transferred"),
    "notify.kind.test": ("测试消息", "Test message"),
    "notify.kind.digest": ("通知汇总", "Digest"),
    "notify.due": ("期限 {due}", "due {due}"),
    "notify.days_left": ("剩余 {n} 个工作日", "{n} working days left"),
    "notify.due_today": ("今天到期", "due today"),
    "notify.amount": ("已拨付 {amount} 元", "{amount} yuan transferred"),
    "notify.voucher": ("凭证号 {voucher}", "voucher {voucher}"),
    "notify.approved": ("审核同意", "approved"),
    "notify.test_text": ("测试消息，收到即说明配置正确", "A test message: the webhook works"),
    "settings.title": ("通知设置", "Notification settings"),
    "settings.intro": (
        "站内消息始终开启；填写电子邮箱后可同时接收邮件通知。",
        "In-app messages are always on; with an e-mail address you can get e-mails too.",
    ),
    "settings.email": ("电子邮箱", "E-mail address"),
    "settings.email_enabled": ("接收邮件通知", "Send me e-mails"),
    "settings.email_hint": ("开启前请先填写电子邮箱", "Needs an e-mail address"),
    "admin.email": ("电子邮箱", "E-mail address"),
    "admin.email_hint": ("留空表示不发送邮件通知", "Leave empty for no e-mails"),
    "admin.webhooks": ("消息推送", "Webhooks"),
    "admin.webhooks_intro": (
        "为单位登记推送地址：该单位的待办和结果会推送到群机器人或自有系统，同一次操作合并为一条。",
        "Register a URL for an org unit: its tasks and decisions are posted there, one message "
        "per action.",
    ),
    "admin.webhook_new": ("添加推送地址", "Add a webhook"),
    "admin.webhook_url": ("推送地址", "URL"),
    "admin.webhook_format": ("消息格式", "Format"),
    "admin.webhook_secret": ("密钥", "Secret"),
    "admin.webhook_secret_hint": (
        "通用格式用于签名，留空则自动生成；钉钉填写加签密钥；企业微信无需填写",
        "Signs generic messages (left empty, one is made); the DingTalk signing secret; WeCom "
        "needs none",
    ),
    "admin.webhook_secret_once": (
        "请妥善保存此密钥，之后不再显示：",
        "Keep this secret, it is not shown again:",
    ),
    "admin.webhook_format.generic": ("通用格式（签名）", "Generic (signed)"),
    "admin.webhook_format.wecom": ("企业微信群机器人", "WeCom group robot"),
    "admin.webhook_format.dingtalk": ("钉钉群机器人", "DingTalk group robot"),
    "admin.webhook_test": ("发送测试消息", "Send a test"),
    "admin.webhook_tested": ("测试消息已排队，稍后发送", "The test message is queued"),
    "admin.webhook_delete": ("删除", "Delete"),
    "admin.webhook_deleted": ("推送地址已删除", "The webhook is deleted"),
    "admin.webhook_none": ("尚未登记推送地址", "No webhooks yet"),
    "admin.outbox": ("投递失败", "Dead letters"),
    "admin.outbox_intro": (
        "多次重试仍未送达的邮件和推送。修复原因后可重新发送。",
        "E-mails and posts that failed every retry. Send them again once the cause is fixed.",
    ),
    "admin.outbox_none": ("没有投递失败的消息", "No dead letters"),
    "admin.outbox_channel": ("渠道", "Channel"),
    "admin.outbox_recipient": ("接收方", "Recipient"),
    "admin.outbox_message": ("内容", "Message"),
    "admin.outbox_attempts": ("尝试次数", "Attempts"),
    "admin.outbox_error": ("最后错误", "Last error"),
    "admin.outbox_created": ("生成时间", "Created"),
    "admin.outbox_retry": ("重新发送", "Retry"),
    "admin.outbox_retried": ("已重新排队发送", "Queued again"),
    "admin.outbox_not_dead": ("该消息已不在投递失败列表中", "The message is no longer dead"),
    "channel.inapp": ("站内", "In-app"),
    "channel.email": ("邮件", "E-mail"),
    "channel.webhook": ("推送", "Webhook"),
    "admin.error.invalid_email": ("请填写有效的电子邮箱", "Enter a valid e-mail address"),
    "admin.error.email_required": (
        "开启邮件通知需要先填写电子邮箱",
        "E-mails need an e-mail address",
    ),
    "admin.error.invalid_url": (
        "网址无效：仅支持网页地址，且不能包含用户名和密码",
        "Invalid URL: http or https only, without a user name or password",
    ),
    "admin.error.invalid_format": ("请选择消息格式", "Choose a format"),
    "admin.error.invalid_secret": (
        "密钥最多 200 位，不含空白",
        "At most 200 characters, no spaces",
    ),
    # 居民评议 and the combined score (pages_residents, _residents.html, resident.html)
    "residents.title": ("居民评议与综合评分", "Resident survey and combined score"),
    "residents.survey": ("居民评议", "Resident survey"),
    "residents.none": ("尚未发起居民评议", "No resident survey has been opened"),
    "residents.open_button": ("发起居民评议", "Open a resident survey"),
    "residents.open_hint": (
        "社区报告完成工作后，可请居民通过链接或二维码为办理情况打分，无需登录。",
        "Once the work is reported, residents can rate it through a link or a QR code, "
        "without signing in.",
    ),
    "residents.new_title": ("发起居民评议", "Open a resident survey"),
    "residents.days": ("评议天数", "Days open"),
    "residents.days_hint": ("{lo}–{hi} 天，默认 7 天", "{lo} to {hi} days, 7 by default"),
    "residents.max_ratings": ("评议人数上限", "Maximum number of ratings"),
    "residents.max_hint": (
        "选填：评议人数达到上限或天数届满即结束，以先到者为准",
        "Optional: the survey closes once this many residents have rated or when its days "
        "are over, whichever comes first",
    ),
    "residents.submit_open": ("发起评议", "Open the survey"),
    "residents.opened_flash": ("居民评议已发起", "The resident survey is open"),
    "residents.error.days": ("请填写 1–30 的整数", "Enter a whole number from 1 to 30"),
    "residents.error.max_ratings": (
        "请填写 1–100000 的整数，或不填",
        "Enter a whole number from 1 to 100000, or leave it empty",
    ),
    "residents.refused.not_reported": (
        "社区尚未报告完成工作，暂不能发起居民评议",
        "The work has not been reported yet: no resident survey can be opened",
    ),
    "residents.refused.ended": (
        "委托已撤销或终止，不能发起居民评议",
        "The handoff was cancelled or terminated: no resident survey can be opened",
    ),
    "residents.refused.exists": ("本委托已发起居民评议", "This handoff has a resident survey"),
    "residents.state": ("状态", "State"),
    "residents.state.open": ("评议中", "open"),
    "residents.state.closed": ("已结束", "closed"),
    "residents.closed_by.days": ("评议天数已满", "its days are over"),
    "residents.closed_by.count": ("已达评议人数上限", "the maximum number of ratings was reached"),
    "residents.closed_by.ended": ("委托已结束", "the handoff ended"),
    "residents.count": ("已评议人数", "Residents who rated"),
    "residents.mean": ("平均分（满分 5 分）", "Mean (out of 5)"),
    "residents.closes_at": ("截止时间", "Closes"),
    "residents.no_limit": ("不限", "no limit"),
    "residents.link": ("评议链接", "Link to the survey"),
    "residents.qr_alt": ("居民评议二维码：扫码打开评议页面", "QR code that opens the survey page"),
    "residents.open_link": ("打开评议页面", "Open the survey page"),
    "residents.download_qr": ("下载二维码", "Download the QR code"),
    "residents.share_hint": (
        "可将链接发到居民群，或打印二维码张贴在楼道、公告栏。",
        "Send the link to the residents' group chat, or print the QR code for the notice boards.",
    ),
    "residents.by_score": ("各分值人数", "Ratings by score"),
    "residents.comments": ("居民留言", "Residents' comments"),
    "score.title": ("综合评分", "Combined score"),
    "score.out_of": ("/ 100", "/ 100"),
    "score.parts": ("综合评分的组成", "What the combined score is made of"),
    "score.part": ("评分项", "Part"),
    "score.weight": ("权重", "Weight"),
    "score.share": ("折算后权重", "Weight used"),
    "score.value": ("得分", "Score"),
    "score.note": ("说明", "Note"),
    "score.part.street": ("街道评价", "Street office's evaluation"),
    "score.part.department": ("部门验收评分", "Department's score at acceptance"),
    "score.part.residents": ("居民评议", "Residents' rating"),
    "score.status.missing_street": ("街道尚未评价，未计入", "Not evaluated yet: left out"),
    "score.status.missing_department": (
        "部门验收未评分，未计入",
        "No score at acceptance: left out",
    ),
    "score.status.no_survey": ("未发起居民评议，未计入", "No resident survey: left out"),
    "score.status.too_few": (
        "居民评议不足 {n} 人，未计入",
        "Fewer than {n} residents rated: left out",
    ),
    "score.residents_mean": ("平均 {mean} 分（满分 5 分）×20", "Mean {mean} out of 5, ×20"),
    "score.residents_count": ("{n} 人评议", "{n} rated"),
    "score.weights_of": ("{category}的权重", "Weights of {category}"),
    "score.default_weights": ("（默认）", "(default)"),
    "score.renormalised": (
        "权重已按已有的评分项重新折算",
        "the weights are renormalised over the parts present",
    ),
    "score.provisional": ("居民评议进行中，评分为暂计", "survey still open: provisional"),
    "public.brand": ("社区居民评议", "Residents' rating"),
    "public.title": ("居民评议", "Rate the work"),
    "public.intro": (
        "社区居委会请您为这项工作的办理情况打分。无需登录；每台设备每天可评议一次。",
        "Your residents' committee asks you to rate how this work was done. No sign-in; one "
        "rating per device and day.",
    ),
    "public.community": ("社区", "Community"),
    "public.department": ("委托部门", "Requested by"),
    "public.completed_on": ("完成日期", "Completed on"),
    "public.report": ("办理情况", "What was done"),
    "public.your_rating": ("您的评价", "Your rating"),
    "public.score_legend": ("满意度（1–5 分）", "How satisfied are you (1 to 5)?"),
    "public.points": ("{n} 分", "{n}"),
    "public.score.1": ("很不满意", "very dissatisfied"),
    "public.score.2": ("不满意", "dissatisfied"),
    "public.score.3": ("一般", "neither"),
    "public.score.4": ("满意", "satisfied"),
    "public.score.5": ("很满意", "very satisfied"),
    "public.comment": ("意见建议（选填）", "Comment (optional)"),
    "public.comment_hint": ("最多 {n} 字", "At most {n} characters"),
    "public.submit": ("提交评价", "Send my rating"),
    "public.thanks": ("谢谢您的评价！", "Thank you for your rating!"),
    "public.rated_today": (
        "您今天已经评价过了，谢谢参与。明天可以再次评价。",
        "You have rated today, thank you. You may rate again tomorrow.",
    ),
    "public.closed": ("本次居民评议已结束，谢谢关注。", "This survey is closed. Thank you."),
    "public.closes_at": ("评议截止：", "Open until"),
    "public.privacy": (
        "本页不收集姓名或账号；设备和网络地址只以无法还原的摘要保存，用于防止重复评价。",
        "No name or account is collected; your device and network address are kept only as "
        "digests that cannot be reversed, to prevent repeated ratings.",
    ),
    "public.error.score": ("请选择 1–5 分", "Choose a score from 1 to 5"),
    "public.refused.closed": ("本次居民评议已结束", "This survey is closed"),
    "public.refused.already_rated": (
        "您今天已经评价过了：每台设备每天只能评价一次",
        "You have rated today already: one rating per device and day",
    ),
    "public.refused.no_device": (
        "请允许浏览器保存 Cookie，然后重新打开本页面",
        "Please allow cookies, then open this page again",
    ),
    "public.refused.stale_form": (
        "页面已过期，请重新打开本页面后再评价",
        "The page has expired: open it again to rate",
    ),
    "public.refused.too_fast": (
        "提交太快了，请稍等几秒再提交",
        "That was too fast: wait a few seconds and send it again",
    ),
    "public.refused.address_limit": (
        "来自同一网络的评价今天已达上限，请明天再试",
        "Today's limit of ratings from this network is reached: try again tomorrow",
    ),
    "public.refused.device_burst": (
        "同一网络刚才有太多新设备评价，请过一会儿再试",
        "Too many new devices from this network just now: try again a little later",
    ),
    "admin.weights": ("评分权重", "Score weights"),
    "admin.weights_intro": (
        "综合评分由街道评价、部门验收评分和居民评议（平均分×20）加权得出，各事项类别可设不同"
        "权重，三项之和须为 100；未设置的类别按默认 30 / 10 / 60 计算。缺少的评分项不计入，"
        "权重按其余各项重新折算。",
        "The combined score weighs the street office's evaluation, the department's score at "
        "acceptance and the residents' mean (×20); each category may have its own weights, "
        "adding up to 100, and a category not set has the defaults 30 / 10 / 60. A part that "
        "is missing is left out and the weights of the others are renormalised.",
    ),
    "admin.weights_min_ratings": (
        "居民评议须至少 {n} 人参与才计入综合评分。",
        "The residents' part counts once at least {n} residents have rated.",
    ),
    "admin.weights_street": ("街道评价 %", "Street office %"),
    "admin.weights_department": ("部门验收 %", "Department %"),
    "admin.weights_residents": ("居民评议 %", "Residents %"),
    "admin.weights_default": ("默认", "default"),
    "admin.weights_saved": ("{category}的权重已保存", "The weights of {category} are saved"),
    "admin.weights_error.percent": ("请填写 0–100 的整数", "Enter a whole number from 0 to 100"),
    "admin.weights_error.sum": ("三项之和须为 100", "The three must add up to 100"),
    "admin.weights_error.unknown_field": ("未知字段", "unknown field"),
    "action.residents.opened": ("发起居民评议", "resident survey opened"),
    "action.residents.closed": ("居民评议结束", "resident survey closed"),
    "action.evaluation.weights_set": ("设置评分权重", "score weights set"),
    # form field names shown in the timeline
    "field.decision": ("决定", "Decision"),
    "field.comment": ("意见", "Comment"),
    "field.amount": ("金额", "Amount"),
    "field.voucher_no": ("凭证号", "Voucher"),
    "field.transferred_on": ("拨付日期", "Transferred on"),
    "field.report": ("完成报告", "Report"),
    "field.completed_on": ("完成日期", "Completed on"),
    "field.score": ("评分", "Score"),
    "field.reason": ("原因", "Reason"),
    "field.to": ("转交给", "To"),
    "field.number": ("编号", "Number"),
    "field.outcome": ("结果", "Outcome"),
    "field.party": ("签署方", "Party"),
    "field.title": ("标题", "Title"),
    "field.description": ("工作内容", "Description"),
    "field.legal_basis": ("依据", "Legal basis"),
    "field.due_date": ("完成期限", "Due date"),
    "field.version": ("版本", "Version"),
    "field.communities": ("社区数", "Communities"),
    "field.error": ("错误", "Error"),
}


def lang() -> str:
    if has_request_context():
        return getattr(g, "lang", DEFAULT_LANG)
    return DEFAULT_LANG


def t(key: str, /, **kwargs) -> str:
    """The text for `key` in the current language; unknown keys show their last part.

    `key` is positional-only, so a placeholder may be called `key` too."""
    pair = STRINGS.get(key)
    text = pair[LANGS.index(lang())] if pair else key.rsplit(".", 1)[-1]
    return text.format(**kwargs) if kwargs else text


def t_or(key: str, fallback: str) -> str:
    """`t(key)` in English; in Chinese (and for unknown keys) the data's own text."""
    pair = STRINGS.get(key)
    if pair is None:
        return fallback
    return (fallback or pair[0]) if lang() == "zh" else pair[1]


def field_label(field: dict) -> str:
    """A form field's label from its description (BPMN `label` / `label_en`)."""
    if lang() == "en" and field.get("label_en"):
        return field["label_en"]
    return field.get("label") or field.get("name", "")


def role_names() -> dict[str, tuple[str, str]]:
    """role key -> (中文, English) from the role table, read once per request (admins add
    roles, so the catalogue cannot know them all)."""
    if not has_request_context():
        return {}
    if "role_names" not in g:
        from workflows import roles

        from .. import get_db

        with get_db().read() as session:
            g.role_names = {r.key: (r.name_zh, r.name_en) for r in roles.all_roles(session)}
    return g.role_names


def role_label(key: str | None) -> str:
    """A role's name in the page's language: the role table's, else the catalogue's."""
    if not key:
        return ""
    pair = role_names().get(key)
    if pair is not None:
        zh, en = pair
        return (en or zh) if lang() == "en" else (zh or en)
    return t(f"role.{key}") if f"role.{key}" in STRINGS else key


_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
_LOWER = re.compile(r"[a-z]")


def one_language(message: str | None) -> str:
    """The current language's half of an engine message written "中文 English" (the API's
    bilingual style, e.g. "必填 required"); a message in one language only is kept whole."""
    text = str(message or "").strip()
    ends = [m.end() for m in _CJK.finditer(text)]
    if not ends:
        return text
    cut = ends[-1]
    rest = text[cut:]
    # codes, numbers and quoted examples right after the Chinese belong to it
    for token in re.finditer(r"\S+", rest):
        if _LOWER.search(token.group()):
            cut += token.start()
            break
    else:
        cut = len(text)
    zh, en = text[:cut].strip(), text[cut:].strip()
    if not en or not zh:
        return text
    if lang() == "en":
        return en
    if ": " in en and not zh.endswith(("：", ":")):
        zh += "：" + en.split(": ", 1)[1]  # "只能是 one of: a, b" -> "只能是：a, b"
    return zh
