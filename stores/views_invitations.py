"""Invitations on the source's Stores page: invite by email, resend, revoke."""

from collections.abc import Callable

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from stores.auth import shop_role_required, shop_session_required
from stores.forms import InvitationForm
from stores.invitations import (
    InvitationRefused,
    invitation_create,
    invitation_resend,
    invitation_revoke,
)
from stores.models import Invitation, Shop
from stores.selectors import invitation_for_source, invitation_list_for_source
from syncer.htmx import ShopRequest, failure, toast

FRAGMENT = "stores/store_list.html#invitations"


def invitations_context(*, source: Shop, form: InvitationForm | None = None) -> dict:
    return {"invitations": invitation_list_for_source(source=source),
            "invite_form": form or InvitationForm()}


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def invitation_create_view(request: ShopRequest[Shop]) -> HttpResponse:
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation, created = invitation_create(
                source=request.shop, email=form.cleaned_data["email"],
                store_name=form.cleaned_data["store_name"])
        except InvitationRefused as exc:
            form.add_error("email", str(exc))
        else:
            response = render(request, FRAGMENT, invitations_context(source=request.shop))
            said = "Invitation sent" if created else "Invitation sent again"
            return toast(response, f"{said} to {invitation.email}.")
    return render(request, FRAGMENT, invitations_context(source=request.shop, form=form),
                  status=422)


def _invitation_act(request: ShopRequest[Shop], invitation_id: int, *,
                    act: Callable[..., Invitation], said: str) -> HttpResponse:
    """Resend or withdraw one of the requesting source's invitations (404 for any other's); the
    list again, with a toast, or a red banner saying why it was refused."""
    invitation = invitation_for_source(source=request.shop, invitation_id=invitation_id)
    if invitation is None:
        raise Http404("No such invitation")
    try:
        act(invitation=invitation)
    except InvitationRefused as exc:
        return failure(render(request, FRAGMENT, invitations_context(source=request.shop),
                              status=409), str(exc))
    response = render(request, FRAGMENT, invitations_context(source=request.shop))
    return toast(response, said.format(email=invitation.email))


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def invitation_resend_view(request: ShopRequest[Shop], invitation_id: int) -> HttpResponse:
    return _invitation_act(request, invitation_id, act=invitation_resend,
                           said="Invitation sent again to {email}. The code in the earlier "
                                "email no longer works.")


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.SOURCE)
def invitation_revoke_view(request: ShopRequest[Shop], invitation_id: int) -> HttpResponse:
    return _invitation_act(request, invitation_id, act=invitation_revoke,
                           said="Invitation to {email} withdrawn: its code no longer works.")
