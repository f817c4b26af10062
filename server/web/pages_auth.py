"""Sign in and sign out."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from workflows import accounts

from .. import get_db
from ..auth import client_address
from . import signin
from .blueprint import bp
from .i18n import t


@bp.get("")
def home():
    return redirect(url_for("web.inbox" if g.user else "web.login"))


@bp.route("login", methods=["GET", "POST"])
def login():
    next_url = signin.safe_next(request.values.get("next"))
    if request.method == "GET":
        if g.user is not None:
            return redirect(next_url)
        return render_template("login.html", next=next_url, username="", error=None)
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")[:200]
    error, status = None, 200
    if not username or not password:
        error, status = t("auth.failed"), 401
    else:
        try:
            with get_db().write() as session:
                user = accounts.authenticate(session, username, password, client_address())
                if user is not None:
                    signin.sign_in(session, user)
        except accounts.LoginThrottled:
            error, status = t("auth.throttled"), 429
        else:
            if user is None:
                error, status = t("auth.failed"), 401
    if error:
        page = render_template("login.html", next=next_url, username=username, error=error)
        return page, status
    return redirect(next_url)


@bp.post("logout")
def logout():
    signin.sign_out()
    flash(t("auth.signed_out"), "ok")
    return redirect(url_for("web.login"))
