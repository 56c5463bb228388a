"""Forms of the social pages. They only parse what the browser sends into what ``agora.social.services`` takes;
the rules (lengths, how many photos or tags, what may be tagged) are the services' and come back as DomainErrors,
which ``apply_domain_error`` puts next to the field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

POLL_OPTION_FIELDS = 6
POLL_DURATIONS = [
    ("1h", _("1 hour"), timedelta(hours=1)),
    ("1d", _("1 day"), timedelta(days=1)),
    ("3d", _("3 days"), timedelta(days=3)),
    ("7d", _("7 days"), timedelta(days=7)),
]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files under one name; each picture is checked by the service (format, size), not here."""

    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [f for f in files if f]


def parse_tag(raw: str) -> dict[str, Any] | None:
    """One product tag from the composer: ``product[:variant[:photo:x:y]]`` (empty parts allowed), e.g.
    ``"12"``, ``"12:40"``, ``"12::0:0.25:0.6"``. None when it is not in that shape."""
    parts = (raw or "").strip().split(":")
    if not parts or not parts[0].isdigit() or len(parts) > 5:
        return None
    spec: dict[str, Any] = {"product_id": int(parts[0])}
    parts += [""] * (5 - len(parts))
    variant, photo, x, y = parts[1:5]
    if variant:
        if not variant.isdigit():
            return None
        spec["variant_id"] = int(variant)
    if photo:
        if not photo.isdigit():
            return None
        spec["photo"] = int(photo)
    if x or y:
        try:
            spec["x"], spec["y"] = round(float(x), 4), round(float(y), 4)
        except ValueError:
            return None
        if spec["x"] != spec["x"] or spec["y"] != spec["y"]:  # NaN
            return None
    return spec


class PostForm(forms.Form):
    text = forms.CharField(
        label=_("What's new?"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Share something: #hashtags and @mentions work")}),
    )
    photos = MultipleImageField(
        label=_("Photos"),
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
    )
    as_shop = forms.ChoiceField(label=_("Post as"), required=False)
    sponsor = forms.CharField(
        label=_("Paid partnership with"),
        required=False,
        max_length=80,
        help_text=_("The address name of the shop that paid for this post (as in /s/shop-name/)."),
    )
    poll_question = forms.CharField(label=_("Poll question"), required=False, max_length=200)
    poll_duration = forms.ChoiceField(
        label=_("Voting closes in"),
        choices=[(k, label) for k, label, _d in POLL_DURATIONS],
        initial="1d",
        required=False,
    )

    def __init__(self, *args: Any, shop_choices: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].widget.attrs["maxlength"] = settings.AGORA_POST_MAX_LENGTH
        as_shop = self.fields["as_shop"]
        assert isinstance(as_shop, forms.ChoiceField)
        as_shop.choices = [("", _("Myself")), *(shop_choices or [])]
        for i in range(POLL_OPTION_FIELDS):
            self.fields[f"poll_option_{i}"] = forms.CharField(
                label=_("Option %(n)d") % {"n": i + 1}, required=False, max_length=100
            )

    @property
    def poll_option_fields(self) -> list[forms.BoundField]:
        return [self[f"poll_option_{i}"] for i in range(POLL_OPTION_FIELDS)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw_tags = self.data.getlist("tag") if hasattr(self.data, "getlist") else []
        tags: list[dict[str, Any]] = []
        for raw in raw_tags:
            if not raw.strip():
                continue
            spec = parse_tag(raw)
            if spec is None:
                self.add_error(None, _("A product tag could not be read; remove it and tag the product again."))
                break
            tags.append(spec)
        data["tags"] = tags
        question = (data.get("poll_question") or "").strip()
        options = [(data.get(f"poll_option_{i}") or "").strip() for i in range(POLL_OPTION_FIELDS)]
        options = [o for o in options if o]
        if question or options:
            duration = dict((k, d) for k, _label, d in POLL_DURATIONS).get(data.get("poll_duration") or "1d")
            data["poll"] = {
                "question": question,
                "options": [{"text": o} for o in options],
                "closes_at": timezone.now() + (duration or timedelta(days=1)),
            }
        else:
            data["poll"] = None
        return data


class CommentForm(forms.Form):
    text = forms.CharField(
        label=_("Comment"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Add a comment…")}),
    )
    parent_id = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].widget.attrs["maxlength"] = settings.AGORA_COMMENT_MAX_LENGTH


class RepostForm(forms.Form):
    text = forms.CharField(
        label=_("Add a comment"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Say why (optional)")}),
    )


class PostEditForm(forms.Form):
    """Editing a post: its text, and which of its product tags stay (a checkbox per tag, ticked to keep it)."""

    text = forms.CharField(label=_("Text"), required=False, strip=False, widget=forms.Textarea(attrs={"rows": 5}))
    keep_tags = forms.MultipleChoiceField(
        label=_("Products in this post"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, tags: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].widget.attrs["maxlength"] = settings.AGORA_POST_MAX_LENGTH
        keep = self.fields["keep_tags"]
        assert isinstance(keep, forms.MultipleChoiceField)
        keep.choices = [(str(t.pk), t.product.title) for t in tags or []]
        if not self.is_bound:
            self.initial.setdefault("keep_tags", [str(t.pk) for t in tags or []])
