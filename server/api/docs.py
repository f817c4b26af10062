"""A browsable, script-free page of the OpenAPI description at /api/v1/docs."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template_string

bp = Blueprint("api_docs", __name__)

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ spec.info.title }} · API 文档</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:70rem;margin:2rem auto;
  padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2rem}
.op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0;padding:.5rem .8rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}.patch{color:#a60}.delete{color:#c00}
code{background:#f4f4f4;padding:0 .3rem;border-radius:3px}
details summary{cursor:pointer}
pre{background:#f7f7f7;padding:.5rem;overflow:auto;font-size:.85rem}
</style></head><body>
<h1>{{ spec.info.title }} <small>{{ spec.info.version }}</small></h1>
<p>OpenAPI 描述 / description: <a href="{{ url }}">{{ url }}</a>.
认证 Authentication: <code>POST /api/v1/auth/token</code>,
then <code>Authorization: Bearer &lt;token&gt;</code>.</p>
{% for tag in tags %}<h2 id="{{ tag.name }}">{{ tag.description or tag.name }}</h2>
{% for path, method, op in ops if tag.name in op.get('tags', []) %}
<div class="op"><span class="m {{ method }}">{{ method }}</span> <code>{{ path }}</code>
 {{ op.get('summary', '') }}
{% if op.get('description') %}<p>{{ op.description }}</p>{% endif %}
<details><summary>参数与响应 Parameters and responses</summary>
<pre>{{ op | tojson(indent=2) }}</pre></details></div>
{% endfor %}{% endfor %}
</body></html>"""


@bp.get("/api/v1/docs")
def docs():
    spec = current_app.extensions["api"].spec.to_dict()
    ops = [
        (path, method, op)
        for path, item in spec.get("paths", {}).items()
        for method, op in item.items()
        if method in ("get", "post", "patch", "put", "delete")
    ]
    return render_template_string(
        PAGE, spec=spec, ops=ops, tags=spec.get("tags", []), url="/api/v1/openapi.json"
    )
