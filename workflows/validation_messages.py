"""The messages of `workflows.validation`, (Chinese, English), in one table for review."""

from __future__ import annotations

# Every message, (Chinese, English), in one place for review; str.format fields in braces.
MESSAGES: dict[str, tuple[str, str]] = {
    "not_bpmn": ("这不是 BPMN 2.0 文件：根元素必须是 bpmn:definitions", "not a BPMN 2.0 file"),
    "no_diagram": (
        "文件没有流程图（BPMNDI）：请用 Camunda Modeler 等建模工具画好并保存",
        "the file has no diagram (BPMNDI): draw and save it with a modeller",
    ),
    "no_executable": (
        "文件中没有可执行的流程：请在流程属性中勾选“可执行”（isExecutable）",
        "the file has no executable process: set isExecutable on the process",
    ),
    "many_executable": (
        "文件中有 {n} 个可执行流程（{ids}）：一个文件只能有一个",
        "the file has {n} executable processes ({ids_en}); only one is allowed",
    ),
    "id_too_long": ("id 太长：最多 {max} 个字符", "the id is longer than {max} characters"),
    "name_too_long": ("名称太长：最多 {max} 个字符", "the name is longer than {max} characters"),
    "outcome_too_long": (
        "结束事件 id 中的结果（end_ 之后、__ 之前的部分）有 {n} 个字符，太长：最多 {max} 个",
        "the outcome in the end event's id (after end_, before any __) has {n} characters; "
        "at most {max} fit",
    ),
    "duplicate_id": ("id 重复：有 {n} 个元素用了这个 id", "{n} elements share this id"),
    "flow_source": (
        "顺序流的起点“{ref}”不存在（起点和终点须在同一个流程或子流程里）",
        "the sequence flow's source {ref!r} does not exist in its (sub)process",
    ),
    "flow_target": (
        "顺序流的终点“{ref}”不存在（起点和终点须在同一个流程或子流程里）",
        "the sequence flow's target {ref!r} does not exist in its (sub)process",
    ),
    "no_start": ("没有开始事件：请添加一个开始事件", "there is no start event"),
    "boundary_target": (
        "边界事件所附着的活动“{ref}”不存在",
        "the activity {ref!r} this boundary event is attached to does not exist",
    ),
    "no_incoming": (
        "没有进入的顺序流：流程永远走不到这里",
        "no incoming sequence flow: the process never gets here",
    ),
    "no_outgoing": (
        "没有出去的顺序流：流程到这里会停住；如果到此结束，请连到一个结束事件",
        "no outgoing sequence flow: the process would stop here; connect it to an end event",
    ),
    "groups_expression": (
        "候选组（camunda:candidateGroups）不能是表达式：请直接填写一个角色，例如 street_office",
        "camunda:candidateGroups cannot be an expression: write one role key",
    ),
    "groups_several": (
        "候选组（camunda:candidateGroups）只能填写一个角色，这里填了多个：{groups}",
        "camunda:candidateGroups must name exactly one role, not {groups!r}",
    ),
    "no_role": (
        "用户任务没有角色：请设置 camunda:candidateGroups，或把它放进带角色的泳道",
        "the user task has no role: set camunda:candidateGroups or put it in a lane with a role",
    ),
    "unknown_role": (
        "角色“{role}”不存在（来自候选组或所在泳道）：可用的角色有 {roles}",
        "unknown role {role!r} (from candidateGroups or the lane); known roles: {roles_en}",
    ),
    "bad_assignee": (
        "办理人（camunda:assignee）“{value}”无效：只能填写一个用户名，"
        "或 ${{starter}}（流程发起人）",
        "camunda:assignee {value!r} must be a username or ${{starter}} (who started it)",
    ),
    "starter_group": (
        "可发起流程的角色（camunda:candidateStarterGroups）“{group}”不存在：可用的角色有 {roles}",
        "camunda:candidateStarterGroups names unknown role {group!r}; known roles: {roles_en}",
    ),
    "field_id": (
        "表单字段 id“{fid}”不合法：只能用英文字母、数字和下划线，不能以数字开头",
        "form field id {fid!r} is not an identifier (letters, digits, _)",
    ),
    "field_type": (
        "表单字段“{fid}”的类型“{ftype}”不受支持：可用的类型有 {types}",
        "form field {fid!r} has unsupported type {ftype!r}; use one of {types_en}",
    ),
    "enum_empty": (
        "下拉选择字段“{fid}”没有选项：请至少添加一个选项（camunda:value）",
        "enum form field {fid!r} has no values",
    ),
    "field_twice": ("表单字段 id“{fid}”重复了 {n} 次", "form field id {fid!r} is used {n} times"),
    "connector_task": (
        "{kind}不受支持：本服务没有连接器，无法调用外部系统{detail}。"
        "需要人办理请改用用户任务，计算数据请改用脚本任务",
        "{kind_en} tasks are not supported (no connectors{detail_en}): use a user or script task",
    ),
    "java": (
        "{attr} 不受支持：本引擎不运行 Java 类、delegateExpression 或外部任务，请删除",
        "{attr} is not supported: the engine runs no Java classes or external tasks",
    ),
    "call_nothing": (
        "调用活动没有设置被调用的流程（calledElement）",
        "the call activity names no process (calledElement)",
    ),
    "call_unknown": (
        "调用活动所调用的流程“{called}”尚未部署：请先部署它，或检查流程 id 是否写错",
        "the called process {called!r} is not deployed",
    ),
    "message_unknown": (
        "引用的消息“{ref}”不存在：请在文件中定义这个消息",
        "the message {ref!r} is not defined in the file",
    ),
    "empty": ("{what}是空的", "the {what_en} is empty"),
    "juel": (
        "{what}用了 JUEL 表达式（${{...}}）：本引擎只运行 Python，请去掉 ${{ }} 改写，"
        "例如 review.decision == 'approve'",
        "the {what_en} uses JUEL (${{...}}): write Python, e.g. review.decision == 'approve'",
    ),
    "refused": ("{what}有错误，无法部署：{error}", "the {what_en} is refused: {error}"),
    "script_format": (
        "脚本语言“{fmt}”不受支持：脚本只能用 Python（scriptFormat 填 python）",
        "script format {fmt!r} is not supported: scripts must be Python",
    ),
    "script_missing": (
        "脚本任务没有脚本：请把 Python 脚本直接写在任务里（不支持外部脚本文件）",
        "the script task has no inline script (external resources are not supported)",
    ),
    "condition_language": (
        "条件的语言“{lang}”不受支持：条件只能写 Python 表达式",
        "condition language {lang!r} is not supported: write a Python expression",
    ),
    "default_elsewhere": (
        "默认流“{default}”不是从这个网关出去的顺序流",
        "the default flow {default!r} does not leave this gateway",
    ),
    "no_condition": (
        "从排他网关“{gateway}”出去的这条顺序流没有条件：请填写条件，或把它设为网关的默认流",
        "this flow out of exclusive gateway {gateway!r} has no condition and is not the default",
    ),
    "mi_nothing": (
        "多实例任务需要设置循环基数（loopCardinality）或集合（camunda:collection）",
        "a multi-instance task needs a loop cardinality or a collection",
    ),
    "mi_too_many": (
        "多实例的循环基数 {n} 太大：最多 {max}",
        "the loop cardinality {n} is above the maximum of {max}",
    ),
    "mi_not_count": (
        "多实例的循环基数“{text}”应为 0 到 {max} 之间的整数",
        "the loop cardinality {text!r} must be a whole number from 0 to {max}",
    ),
    "mi_element_variable": (
        "使用集合（camunda:collection）时须设置元素变量（camunda:elementVariable）："
        "每个实例从中取得自己的那一项",
        "camunda:collection needs a camunda:elementVariable, the variable each instance gets "
        "its item in",
    ),
    "loop_unbounded": (
        "自动执行的循环活动（standardLoopCharacteristics）须设置循环上限 loopMaximum，"
        "且不超过 {max}：否则它会在一步之内反复执行",
        "a standard loop on an activity nobody waits for needs a loopMaximum of at most {max}, "
        "or it repeats within one engine step without end",
    ),
    "mi_collection": (
        "集合（camunda:collection）不能是 JUEL 表达式：请填写变量名",
        "camunda:collection must be a variable name, not JUEL",
    ),
    "automatic_cycle": (
        "这些元素构成一个不经过任何等待（用户任务、接收任务、定时器、消息）的循环：{ids}。"
        "它会在一步之内反复执行，引擎无法正确运行：请在循环中加入需要等待的环节，"
        "或改用多实例活动来重复执行",
        "these elements form a loop with nothing to wait for (user task, receive task, timer, "
        "message): {ids_en}; it would repeat within one engine step, which the engine cannot "
        "run right: put a wait on the loop, or repeat the work with a multi-instance activity",
    ),
    "plugin_field_missing": (
        "任务缺少表单字段“{fid}”：本流程的规则（{reader}）要读取它（{ftype} 类型，必填）",
        "the task has no form field {fid!r}, which the process's rule {reader} reads "
        "({ftype}, required)",
    ),
    "plugin_field_type": (
        "表单字段“{fid}”的类型不对：本流程的规则（{reader}）要读取 {ftype} 类型的值",
        "form field {fid!r} must be of type {ftype}: the process's rule {reader} reads it so",
    ),
    "plugin_field_optional": (
        "表单字段“{fid}”须设为必填（camunda:validation 的 required）：本流程的规则（{reader}）"
        "总要读取它",
        "form field {fid!r} must be required: the process's rule {reader} always reads it",
    ),
    "timer_empty": ("定时器没有设置时间：请填写日期、时长或循环", "the timer has no time"),
    "timer_fails": ("定时器表达式有错误：{error}", "the timer expression fails: {error}"),
    "timer_not_iso": (
        "定时器表达式“{text}”的结果不是 ISO 8601 日期或时长字符串：请直接填写，例如 P10D"
        "（10 天），或写返回这种字符串的表达式，例如 add_working_days(now(), 10)",
        "the timer expression {text!r} does not give an ISO 8601 date or duration string",
    ),
    # Refused wherever they appear (keys are the element names).
    "businessRuleTask": (
        "业务规则任务（DMN 决策表）不受支持：请改用脚本任务或排他网关的条件",
        "business rule tasks (DMN) are not supported: use a script task or gateway conditions",
    ),
    "complexGateway": (
        "复杂网关不受支持：请改用排他网关、并行网关或包容网关",
        "complex gateways are not supported: use an exclusive, parallel or inclusive gateway",
    ),
    "transaction": (
        "事务子流程不受支持：请改用普通的嵌入式子流程",
        "transactions are not supported: use an embedded subprocess",
    ),
    "compensateEventDefinition": (
        "补偿不受支持：请用顺序流把撤销的步骤画出来",
        "compensation is not supported: model the undo steps with sequence flows",
    ),
    "cancelEventDefinition": (
        "取消事件不受支持（它只用于事务子流程）",
        "cancel events are not supported (they belong to transactions)",
    ),
    "signalEventDefinition": (
        "信号事件不受支持：本服务不收发信号，请改用消息事件",
        "signal events are not supported: the service sends no signals; use a message event",
    ),
    "escalationEventDefinition": (
        "升级事件不受支持：逾期升级请用非中断的定时边界事件",
        "escalation events are not supported: for overdue work use a non-interrupting timer",
    ),
    "conditionalEventDefinition": (
        "条件事件不受支持：请改用排他网关的条件",
        "conditional events are not supported: use conditions on an exclusive gateway",
    ),
    "linkEventDefinition": (
        "链接事件不受支持：请直接用顺序流连接",
        "link events are not supported: connect the nodes with a sequence flow",
    ),
    "executionListener": (
        "执行监听器（camunda:executionListener）不受支持：引擎不会运行它，请删除",
        "execution listeners are not supported: the engine does not run them",
    ),
    "taskListener": (
        "任务监听器（camunda:taskListener）不受支持：引擎不会运行它，请删除",
        "task listeners are not supported: the engine does not run them",
    ),
    "inputOutput": (
        "输入/输出映射（camunda:inputOutput）不受支持：引擎会忽略它，请改用脚本任务设置变量",
        "input/output mappings are not supported: the engine ignores them; use a script task",
    ),
}
