"""Keys of proactive offers, reports, the conversation directory, complaint clusters and the
demo history."""

from gateway.keys.prefix import PREFIX

# --- proactive chat offers: storefront visitors, due evaluations, offers, counters ------


def visitor(session_id: str) -> str:
    """A storefront visitor by web session id (hash: browsing session, page, cart, checkout,
    the open offer); gateway/proactive/visitors.py."""
    return f"{PREFIX}:visitor:{session_id}"


def visitor_trail(session_id: str) -> str:
    """List of the visitor's last page views (JSON), oldest first."""
    return f"{PREFIX}:visitor:{session_id}:trail"


def visitor_offered(session_id: str, visit: int) -> str:
    """Set of the rules offered in one browsing session (the visitor's `visit`-th)."""
    return f"{PREFIX}:visitor:{session_id}:visit:{visit}:offered"


def visitor_converted(session_id: str, visit: int) -> str:
    """Present once an order placed in that browsing session was counted as a conversion."""
    return f"{PREFIX}:visitor:{session_id}:visit:{visit}:converted"


def visitor_offers_on(session_id: str, day: int) -> str:
    """Offers shown to the visitor on a day (days since the epoch, UTC), all rules (a counter)."""
    return f"{PREFIX}:visitor:{session_id}:offers:{day}"


# Sorted set of visitor session ids scored by when their rules are next due for evaluation.
PROACTIVE_DUE = f"{PREFIX}:proactive:due"


def proactive_offer(offer_id: str) -> str:
    """One offer shown (hash: rule, target, team, session and conversation, state)."""
    return f"{PREFIX}:proactive:offer:{offer_id}"


def proactive_metrics() -> str:
    """Hash of the offers' counters, fields `<rule>:shown|accepted|declined|converted`."""
    return f"{PREFIX}:proactive:metrics"


def proactive_metrics_on(day: str) -> str:
    """The same counters for one shop-local day ("YYYY-MM-DD"), expiring after about 400 days."""
    return f"{PREFIX}:proactive:metrics:{day}"


# --- reports, complaint clusters and the conversation directory (gateway/reports/) ------

# Stream of conversation ids, one entry per new event: what the projections follow.
FEED = f"{PREFIX}:feed"


def projection_state(projection: str, conversation_id: str) -> str:
    """What one projection has folded of a conversation (hash: its cursor, its own fields)."""
    return f"{PREFIX}:projection:{projection}:{conversation_id}"


def report_rollup(variant: str, day: str, channel: str, team: str, agent: str) -> str:
    """Hash of one shop-local day's counters for one filter combination ("*" for all), in one
    variant (`all`, or `open`: only the opening hours); gateway/reports/rollups.py."""
    return f"{PREFIX}:report:{variant}:{day}:{channel}:{team}:{agent}"


def report_not_understood(variant: str, day: str, channel: str) -> str:
    """Sorted set of the messages the bot did not understand on a day, scored by how often."""
    return f"{PREFIX}:report:nu:{variant}:{day}:{channel}"


def report_comments(day: str) -> str:
    """List of the survey comments of a day (JSON: score, text, channel, team, agent)."""
    return f"{PREFIX}:report:comments:{day}"


def report_episodes(day: str) -> str:
    """Hash of the conversations (episodes) started on a day, `{id}:{episode}` → JSON row."""
    return f"{PREFIX}:report:episodes:{day}"


def report_prefix() -> str:
    """What every key of the report rollups starts with."""
    return f"{PREFIX}:report:"


# --- the conversation directory: supervisors' list and search (gateway/desk/directory.py) ---
# Every set below holds conversation ids scored by their last activity (the `at` of their
# newest event), except the prefix sets, which hold words. Bounds: gateway/desk/directory.py.

DIRECTORY_ALL = f"{PREFIX}:directory:all"


def directory_facet(facet: str, value: str) -> str:
    """Sorted set of the conversations with one value of a facet (state, team, agent, channel, csat)."""
    return f"{PREFIX}:directory:facet:{facet}:{value}"


def directory_postings(term: str) -> str:
    """Sorted set of the conversations a search term occurs in (its newest ones only)."""
    return f"{PREFIX}:directory:term:{term}"


def directory_prefix(prefix: str) -> str:
    """Sorted set of the search terms that start with a 3-character prefix, scored by last use."""
    return f"{PREFIX}:directory:prefix:{prefix}"


def directory_scratch(name: str) -> str:
    """A search's intermediate set, deleted in the transaction that made it."""
    return f"{PREFIX}:directory:scratch:{name}"


# What `Directory.reset` deletes (a SCAN pattern).
DIRECTORY_KEYS = f"{PREFIX}:directory:*"


# --- complaint clusters (gateway/complaints/) ------------------------------------

# Hash document id → the complaint document (JSON); the newest COMPLAINT_DOCUMENTS_MAX only.
COMPLAINT_DOCUMENTS = f"{PREFIX}:complaints:documents"
# Sorted set of the document ids, scored by when the shopper said it.
COMPLAINT_TIMELINE = f"{PREFIX}:complaints:timeline"
# Sorted set of feedback entries `class|channel|team|document id`, scored by time (the counts).
COMPLAINT_FEEDBACK = f"{PREFIX}:complaints:feedback"
# Sorted set of the SKUs with complaints, scored by the latest one (which products alerts look at).
COMPLAINT_PRODUCTS = f"{PREFIX}:complaints:products"
# Hash `sku|name` → name: every name a product was sold under, written with every order the shop
# stores (OrderStore.put): what a complaint naming a product is matched against (gateway/complaints/).
PRODUCT_NAMES = f"{PREFIX}:products:names"


def complaint_product_documents(sku: str) -> str:
    """Sorted set of a product's complaint document ids by time (a product's own cap)."""
    return f"{PREFIX}:complaints:product:{sku}:documents"


def complaint_product_shoppers(sku: str) -> str:
    """Sorted set of `day:contact:conversation` for a product's complaints, scored by the first
    time that day: the per-product, per-day counts the alerts are computed from."""
    return f"{PREFIX}:complaints:product:{sku}:shoppers"


# --- the demo shop's history (gateway/run/history/) ----------------------------------

# The shop-local day the demo history ends on, set when `storechat demo-data` (or the first
# `make run`) writes it: a second run finds it and writes nothing twice.
DEMO_HISTORY = f"{PREFIX}:demo:history"
