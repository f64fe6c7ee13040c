"""Argument completion (`completion/complete`) for the resource templates and the prompts.

Prefix matches, case- and accent-insensitive, on id or name, at most 100 values, from the cached
listings (`channel_mcp.listings`) and a bounded memo of contact searches. A completion that fails
upstream offers nothing rather than failing the editor.
"""

from __future__ import annotations

import logging
import unicodedata

from mcp_types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

from channel_mcp.deps import Deps
from channel_mcp.errors import ChannelMCPError, InputError
from channel_mcp.imbrace.models import CHANNEL_TYPES, Contact
from channel_mcp.listings import KEY_CONTACT_SEARCH, bird_channels, imbrace_channels, imbrace_contacts_first
from channel_mcp.request_scope import current_deps
from channel_mcp.resources import BIRD_CHANNEL, IMBRACE_CHANNEL, IMBRACE_CONTACT
from channel_mcp.upstream import check_id

logger = logging.getLogger("channel_mcp.resources")

MAX_COMPLETIONS = 100  # the protocol's cap on completion values
SEARCH_MEMO = 64  # contact searches remembered per cache period
MAX_QUERY = 100


def _fold(text: str) -> str:
    """Case- and accent-insensitive form: "Nguyễn" and "nguyen" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()


def match(prefix: str, candidates: list[tuple[str, str | None]]) -> list[str]:
    """Ids whose id, name, or a word of the name starts with `prefix`; id matches first. Invalid ids are dropped."""
    want = _fold(prefix)
    ranked: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    for order, (cid, name) in enumerate(candidates):
        if cid in seen:
            continue
        try:
            check_id("id", cid)
        except InputError:
            continue
        seen.add(cid)
        folded = _fold(name or "")
        if _fold(cid).startswith(want):
            rank = 0
        elif folded.startswith(want):
            rank = 1
        elif want and any(word.startswith(want) for word in folded.split()):
            rank = 2
        else:
            continue
        ranked.append((rank, order, cid))
    return [cid for _, _, cid in sorted(ranked)]


async def search_contacts(deps: Deps, query: str) -> list[Contact]:
    """Contact search for completions. Remembered for one cache period in one bounded cache entry, so a
    user typing many prefixes cannot grow the cache without limit."""

    async def fresh_memo() -> dict[str, list[Contact]]:
        return {}

    memo = await deps.cache.get(KEY_CONTACT_SEARCH, fresh_memo)
    key = _fold(query)
    hit = memo.get(key)
    if hit is None:
        hit = (await deps.imbrace.contacts.search(query, limit=MAX_COMPLETIONS)).items
        memo[key] = hit
        while len(memo) > SEARCH_MEMO:
            memo.pop(next(iter(memo)))
    return hit


async def _candidates(deps: Deps, source: str, prefix: str) -> list[tuple[str, str | None]]:
    if source == "imbrace_channels" and deps.imbrace_client is not None:
        return [(c.id, c.name) for c in (await imbrace_channels(deps)).items if c.id]
    if source == "imbrace_contacts" and deps.imbrace_client is not None:
        found = [(c.id, c.display_name) for c in (await imbrace_contacts_first(deps)).items if c.id]
        query = prefix.strip()[:MAX_QUERY]
        if query:
            found += [(c.id, c.display_name) for c in await search_contacts(deps, query) if c.id]
        return found
    if source in ("bird_channels", "bird_whatsapp") and deps.bird_client is not None:
        channels = await bird_channels(deps)
        if source == "bird_whatsapp":  # WhatsApp channels first: the prompt is about WhatsApp
            channels = sorted(channels, key=lambda c: "whatsapp" not in (c.platformId or "").lower())
        return [(c.id, c.name) for c in channels if c.id]
    return []


_TEMPLATE_ARGS: dict[tuple[str, str], str] = {
    (IMBRACE_CHANNEL, "channel_id"): "imbrace_channels",
    (IMBRACE_CONTACT, "contact_id"): "imbrace_contacts",
    (BIRD_CHANNEL, "channel_id"): "bird_channels",
}
_PROMPT_ARGS: dict[tuple[str, str], str] = {
    ("contact_360", "contact_id"): "imbrace_contacts",
    ("whatsapp_send_check", "channel_id"): "bird_whatsapp",
    ("audit_channels", "type"): "channel_types",
    # whatsapp_send_check.contact_id is a Bird contact id: Bird contacts have no listing in the API
    # contract, so it is not completed.
}


async def complete(
    ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument, context: CompletionContext | None
) -> Completion:
    """`completion/complete`: prefix matches (case- and accent-insensitive) on id or name, at most 100."""
    if isinstance(ref, ResourceTemplateReference):
        source = _TEMPLATE_ARGS.get((ref.uri, argument.name))
    else:
        source = _PROMPT_ARGS.get((ref.name, argument.name))
    if source is None:
        return Completion(values=[], total=0, has_more=False)
    if source == "channel_types":
        values = [t for t in CHANNEL_TYPES if t.startswith(_fold(argument.value))]
        return Completion(values=values, total=len(values), has_more=False)
    deps = current_deps()
    try:
        found = match(argument.value, await _candidates(deps, source, argument.value))
    except ChannelMCPError as exc:
        # Completion is a convenience: an upstream failure offers nothing rather than failing the editor.
        logger.info("completion for %s failed: %s", argument.name, type(exc).__name__)
        return Completion(values=[], total=0, has_more=False)
    return Completion(values=found[:MAX_COMPLETIONS], total=len(found), has_more=len(found) > MAX_COMPLETIONS)
