"""Tokens and the signed-in user."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import select

from workflows import accounts
from workflows.models import User

from .. import get_db
from ..auth import Unauthorized, bearer_token, client_address, current_actor, login_required
from ..schemas import TokenRequest, TokenResponse, UserOut
from .contract import may_answer

blp = Blueprint("accounts", __name__, description="令牌与当前用户 Tokens and the current user")


@blp.post("/auth/token")
@blp.arguments(TokenRequest)
@blp.response(200, TokenResponse)
@blp.doc(security=[])
@may_answer(401, 429)
def issue_token(body):
    """Exchange username and password for a bearer token (expires; revocable)."""
    ttl = timedelta(hours=current_app.config["TOKEN_TTL_HOURS"])
    answer = None
    with get_db().write() as session:  # commits the failed-attempt counter too
        user = accounts.authenticate(session, body["username"], body["password"], client_address())
        if user is not None:
            token, row = accounts.issue_token(session, user, ttl)
            answer = {"token": token, "token_type": "Bearer", "expires_at": row.expires_at}
    if answer is None:
        raise Unauthorized()
    return answer


@blp.post("/auth/revoke")
@blp.response(204)
@login_required
def revoke_token():
    """Revoke the token this request carries."""
    with get_db().write() as session:
        accounts.revoke_token(session, bearer_token())


@blp.get("/me")
@blp.response(200, UserOut)
@login_required
def me():
    """The signed-in user with their memberships."""
    with get_db().read() as session:
        return session.scalar(select(User).where(User.id == current_actor().user_id))
