"""The words parser v2 knows. Lowercase; tokens are compared by their lowercased text."""

from __future__ import annotations

# (phrase, action, side of this order or None for "the default of the action", strong?)
# Strong phrases are unambiguous trade language; weak ones ("in", "bought") also occur in chatter, so a weak word
# alone, without a ticker, contract or price, is not treated as a broken trade.
ACTION_PHRASES: tuple[tuple[tuple[str, ...], str, str | None, bool], ...] = (
    (("buy", "to", "open"), "open", "buy", True),
    (("bought", "to", "open"), "open", "buy", True),
    (("buying", "to", "open"), "open", "buy", True),
    (("sell", "to", "open"), "open", "sell", True),
    (("sold", "to", "open"), "open", "sell", True),
    (("selling", "to", "open"), "open", "sell", True),
    (("sell", "to", "close"), "close", "sell", True),
    (("sold", "to", "close"), "close", "sell", True),
    (("selling", "to", "close"), "close", "sell", True),
    (("buy", "to", "close"), "close", "buy", True),
    (("bought", "to", "close"), "close", "buy", True),
    (("buying", "to", "close"), "close", "buy", True),
    (("bought", "back"), "close", "buy", True),
    (("debit", "to", "open"), "open", None, True),
    (("credit", "to", "open"), "open", None, True),
    (("debit", "to", "close"), "close", None, True),
    (("credit", "to", "close"), "close", None, True),
    (("bto",), "open", "buy", True),
    (("sto",), "open", "sell", True),
    (("stc",), "close", "sell", True),
    (("btc",), "close", "buy", True),
    (("all", "out"), "close", None, True),
    (("stopped", "out"), "close", None, True),
    (("stop", "out"), "close", None, True),
    (("stop", "hit"), "close", None, True),
    (("stopped",), "close", None, True),
    (("sl", "hit"), "close", None, True),
    (("sold", "half"), "trim", None, True),
    (("half", "off"), "trim", None, True),
    (("half", "out"), "trim", None, True),
    (("out", "half"), "trim", None, True),
    (("closing", "half"), "trim", None, True),
    (("sell", "half"), "trim", None, True),
    (("selling", "half"), "trim", None, True),
    (("scale", "out"), "trim", None, True),
    (("scaling", "out"), "trim", None, True),
    (("scaled", "out"), "trim", None, True),
    (("taking", "profits"), "trim", None, True),
    (("taking", "profit"), "trim", None, True),
    (("took", "profits"), "trim", None, True),
    (("took", "profit"), "trim", None, True),
    (("take", "profits"), "trim", None, True),
    (("take", "profit"), "trim", None, True),
    (("taking", "some"), "trim", None, True),
    (("trim",), "trim", None, True),
    (("partial", "profits"), "trim", None, True),
    (("partial", "profit"), "trim", None, True),
    (("taking", "partials"), "trim", None, True),
    (("took", "partials"), "trim", None, True),
    (("partials",), "trim", None, False),
    (("partial",), "trim", None, False),
    (("trims",), "trim", None, True),
    (("trimmed",), "trim", None, False),
    (("trimming",), "trim", None, False),
    (("avg", "down"), "add", None, True),
    (("average", "down"), "add", None, True),
    (("averaging", "down"), "add", None, True),
    (("averaged", "down"), "add", None, True),
    (("avg'd", "down"), "add", None, True),
    (("avgd", "down"), "add", None, True),
    (("averaging", "in"), "add", None, True),
    (("doubled", "down"), "add", None, True),
    (("doubling", "down"), "add", None, True),
    (("add",), "add", None, True),
    (("added",), "add", None, False),
    (("adding",), "add", None, False),
    (("adds",), "add", None, False),
    (("scaling", "into"), "open", "buy", True),
    (("scaling", "in"), "open", "buy", True),
    (("scaled", "into"), "open", "buy", True),
    (("scale", "into"), "open", "buy", True),
    (("bought",), "open", "buy", False),
    (("buy",), "open", "buy", False),
    (("buying",), "open", "buy", False),
    (("grabbed",), "open", "buy", False),
    (("grabbing",), "open", "buy", False),
    (("entered",), "open", "buy", False),
    (("entering",), "open", "buy", False),
    (("entry",), "open", "buy", False),
    (("opened",), "open", "buy", False),
    (("opening",), "open", "buy", False),
    (("long",), "open", "buy", False),
    (("short",), "open", "short", False),
    (("closing",), "close", None, False),
    (("closed",), "close", None, False),
    (("exit",), "close", None, False),
    (("exited",), "close", None, False),
    (("exiting",), "close", None, False),
    (("sold",), "close", None, False),
    (("sell",), "close", None, False),
    (("selling",), "close", None, False),
    (("covered",), "close", "buy", False),
    (("covering",), "close", "buy", False),
    (("cover",), "close", "buy", False),
    (("flattened",), "close", None, False),
    (("flattening",), "close", None, False),
    (("cut",), "close", None, False),
    (("cutting",), "close", None, False),
)
# Words that are actions only in some positions: at the start of a segment or after these words.
POSITIONAL = {
    "in": ("open", {"got", "im", "i'm", "back", "we're", "were", "also", "and", "&", "starter", "starters", "position",
                   "pos", "lotto", "swing", "scalp", "small", "light", "half", "full", "size"}),
    "out": ("close", {"got", "im", "i'm", "we're", "were", "also", "and", "&", "rest", "one", "last", "remaining",
                      "everything", "fully", "completely", "finally", "now", "just"}),
    "close": ("close", set()),
    # "flat /NQ @ …", "went flat ES": the position is closed; "futures flat" is a market report
    "flat": ("close", {"went", "go", "going", "im", "i'm", "we're", "were", "got", "now", "all", "and", "&",
                       "getting"}),
    "closing": ("close", set()),
}
# "in @ 1.2", "in at 1.2", "in here": "in" is an action before these even mid-sentence.
IN_FOLLOWERS = {"@", "at", "here", "now"}

INTENT = {
    "eyeing", "eye", "eyes", "watching", "watch", "watchlist", "watchlists", "wl", "radar", "might", "maybe",
    "considering", "consider", "thinking", "planning", "plan", "waiting", "wait", "idea", "ideas", "potential",
    "possible", "possibly", "looking", "interested", "hoping", "hope", "wishing", "should", "would", "could",
    "if", "unless", "setup", "setups", "stalking", "tomorrow's", "tmrw", "monitoring",
    "will", "i'll", "we'll", "gonna", "wanna", "plans", "planned", "should've", "would've", "could've", "shoulda",
    "woulda", "coulda", "wish",
}  # fmt: skip
# "holding into tmrw", "swing till tomorrow": the horizon of a position, not an intent
HORIZON_BEFORE = {"into", "till", "til", "until", "through", "thru", "over", "for", "overnight"}
# Someone else did it: "my cousin bought …", "people asking about BTO …"
THIRD_PARTY = {
    "cousin", "friend", "friends", "buddy", "brother", "sister", "wife", "husband", "dad", "mom", "he", "she",
    "they", "someone", "somebody", "people", "members", "member", "everyone", "guys", "others", "he's", "she's",
    "they're", "bro", "uncle", "coworker", "colleague",
}  # fmt: skip
QUESTION_WORDS = {
    "who", "anyone", "anybody", "did", "does", "do", "is", "are", "was", "what", "why", "how", "should", "can",
    "could", "would", "where", "when", "which", "has", "have", "any",
}  # fmt: skip
EXPIRY_WORDS = {"exp", "expiry", "expiration", "exps", "expires", "expiring"}
TOMORROW = {"tomorrow", "tmrw", "tmr", "tmw"}
# A missed trade, and advice not to chase one: talk about an entry, not an order
MISSED = {"missed", "miss", "misses", "missing"}
NEGATIONS = {"don't", "dont", "do", "not", "no", "never", "avoid", "stop", "won't", "wont"}
CHASE = {"chase", "chasing", "chased", "fomo", "fomoing"}
RECAP = {
    "recap", "recaps", "results", "review", "recapping", "journal", "summary", "yesterday", "yesterday's",
    "pnl", "p&l", "reminder", "reminders",
}  # fmt: skip
# Words of a result: without an action word of its own (or a heading's) a segment with these reports, not orders
RESULT = {
    "win", "wins", "winner", "winners", "congrats", "congratulations", "gains", "banked", "paid", "profit",
    "printed", "printing", "cashed", "nailed", "called",
}  # fmt: skip
# "holding", "held": beside a contract and a price with no action word, maybe a position already held
HOLDING = {"holding", "held", "hold", "still"}
# Past forms of action words: with a time in the past ("yesterday", "two days ago") the message is a recap
PAST_FORMS = {
    "sold", "bought", "took", "closed", "exited", "trimmed", "added", "entered", "opened", "covered", "grabbed",
    "stopped", "scaled", "averaged", "doubled", "cut", "flattened", "got",
}  # fmt: skip
# After an exit word, a part of the position: "out some", "sold a few", "closing more" are trims
PARTIAL = {"some", "partial", "partials", "part", "few", "more", "bit", "portion"}
# Words that name an option position without its contract: "out of the SPY lotto", "sold 2 contracts of SPY"
OPTION_WORDS = {"lotto", "lottos", "lotto's", "lottery", "contract", "contracts", "cons", "cts", "options"}
# Strategies with more legs (or kinds of leg) than the signal model's vertical: never read as one of their legs
STRATEGIES = {
    "ic", "condor", "condors", "butterfly", "butterflies", "fly", "straddle", "straddles", "strangle", "strangles",
    "calendar", "calendars", "diagonal", "diagonals", "collar", "collars", "strip", "strap", "ratio", "iron",
}  # fmt: skip
ROLL_WORDS = {"roll", "rolling", "rolled", "rolls"}
# Side words in front of each leg of a spread written in words: "sell SPY 590P, buy 585P"
SELL_SIDE = {"sell", "sold", "selling", "short", "sto", "stc"}
BUY_SIDE = {"buy", "bought", "buying", "long", "bto", "btc"}
# Level changes: with a stop or target beside them, an update, never an entry
LEVEL_CHANGE = {
    "raising", "raise", "raised", "moving", "move", "moved", "adjusting", "adjust", "adjusted", "trailing", "trail",
    "trailed", "tighten", "tightening", "tightened", "lowering", "lowered", "new", "updated", "update", "updating",
    "bump", "bumping", "bumped", "changing", "change", "changed", "setting", "set",
}  # fmt: skip
# A heading naming the kind of alert, on its own line ("Options Scale", "TRIM ALERT", "Options Entry"): the action
# of every trade below it
HEADING_ACTIONS = {
    "entry": "open", "entries": "open", "open": "open", "opened": "open", "opening": "open", "bto": "open",
    "buy": "open", "bought": "open", "scale": "trim", "scaling": "trim", "scaled": "trim", "trim": "trim",
    "trims": "trim", "trimming": "trim", "trimmed": "trim", "partial": "trim", "partials": "trim", "close": "close",
    "closed": "close", "closing": "close", "exit": "close", "exits": "close", "exited": "close", "sold": "close",
    "stc": "close", "add": "add", "adding": "add", "added": "add", "update": "update", "updated": "update",
}  # fmt: skip
HEADING_WORDS = {
    "options", "option", "stock", "stocks", "alert", "alerts", "trade", "trades", "signal", "signals", "new",
    "position", "swing", "swings", "lotto", "lottos", "day", "futures", "future", "contract", "play", "plays",
    "scalp", "scalps", "leap", "leaps", "equity", "equities", "order", "orders", "out", "in", "full", "spread",
}  # fmt: skip
# Misspelt action words are read when their first letter is right and one letter is swapped, missing, extra or
# (in longer words) wrong: "Bougth", "Trimed", "Exitted". These English words are that close and mean other things.
FUZZY_ACTIONS = {
    "bought": ("open", "buy"), "buying": ("open", "buy"), "entered": ("open", "buy"), "sold": ("close", None),
    "selling": ("close", None), "closed": ("close", None), "exited": ("close", None), "stopped": ("close", None),
    "trim": ("trim", None), "trimmed": ("trim", None), "trimming": ("trim", None), "added": ("add", None),
    "adding": ("add", None),
}  # fmt: skip
NOT_MISSPELT = {
    "bough", "boughs", "brought", "trimmer", "trimmers", "adder", "adders", "addled", "closet", "closer", "closes",
    "spelling", "sealing", "swelling", "stepped", "stooped", "stopper", "exiled", "excited", "sole", "solid",
    "soldier", "tram", "trip", "trims", "adds", "buyin", "entere",
}  # fmt: skip
# Market commentary: with no action word, a ticker and a number are a level, not a trade.
COMMENTARY = {
    "level", "levels", "support", "resistance", "broke", "breaking", "breakout", "breakdown", "holding", "held",
    "hold", "reject", "rejected", "rejecting", "rejection", "bounce", "bounced", "bouncing", "above", "below",
    "over", "under", "gap", "gapped", "gapping", "pump", "pumping", "dump", "dumping", "ran", "running", "chart",
    "trend", "area", "zone", "ath", "futures", "market", "markets", "red", "green", "flat", "up", "down",
    "reclaim", "reclaimed", "retest", "news", "earnings", "er", "premarket", "pm", "ah", "tested", "testing",
    "looks", "juicy", "play", "were", "was", "by",
}  # fmt: skip

STOP_LABELS = {"sl", "stop", "stoploss", "stop-loss", "sl's"}
TARGET_LABELS = {"pt", "pts", "tp", "tps", "target", "targets", "tgt", "tgts", "tg", "pt's", "t"}
PRICE_LABELS = {"@", "at", "entry", "price", "fill", "filled", "avg", "cost", "limit", "lmt"}
# Skipped between a label and its value: "SL is HOD", "SL moved to 1.50", "PT: 3.72".
LABEL_FILLER = {
    ":", "=", "-", "@", "at", "is", "to", "moved", "move", "moving", "now", "of", "raised", "raise", "raising",
    "lowered", "lower", "set", "new", "->", ">", "around", "on", "loss", "price", "trailing", "trail", "initial",
    "first", "1st", "adjusted", "adjust", "update", "updated", "updating", "tightened", "tighten", "up", "at:",
    "would", "will", "for", "→", "➡", "⇒", "⟶", "➔",
}  # fmt: skip
STOP_TEXT = {"hod": "HOD", "lod": "LOD", "be": "BE", "b/e": "BE", "breakeven": "breakeven", "vwap": "VWAP",
             "entry": "entry", "cost": "cost", "even": "breakeven", "pdh": "PDH", "pdl": "PDL"}  # fmt: skip

RIGHTS = {"c": "C", "call": "C", "calls": "C", "p": "P", "put": "P", "puts": "P"}
QTY_UNITS = {"x", "contracts", "contract", "cons", "con", "cts", "ct", "shares", "share", "lots", "lot", "qty"}
SHARE_UNITS = {"shares", "share"}
SIZE_NOUNS = {"size", "sized", "position", "pos", "sizing", "allocation"}
SIZE_ADJ = {
    "starter", "small", "smaller", "half", "full", "quarter", "lotto", "light", "tiny", "normal", "regular",
    "big", "bigger", "double", "medium", "max", "min", "minimal", "reduced", "standard",
}  # fmt: skip
ACCOUNT_NOUNS = {"account", "acct", "port", "portfolio", "capital", "bp", "nav"}
FRACTION_CONTEXT = {
    "trim", "trims", "trimmed", "trimming", "sold", "sell", "selling", "out", "close", "closed", "closing",
    "took", "take", "taking", "scale", "scaled", "scaling", "stc", "off",
}  # fmt: skip
WEEKLY = {"weekly", "weeklies", "weeklys", "eow", "wk"}
FUTURES = {
    "es", "nq", "ym", "rty", "cl", "gc", "si", "ng", "zb", "zn", "zf", "zt", "hg", "mes", "mnq", "mym", "mcl",
    "mgc", "m2k", "ub", "rb", "ho", "zc", "zs", "zw", "btc", "eth", "mbt", "met",
}  # fmt: skip
TAG_WORDS = {
    "lotto": "lotto", "lottos": "lotto", "lottery": "lotto", "lotos": "lotto", "lotto's": "lotto",
    "swing": "swing", "swings": "swing", "swinging": "swing", "risky": "high_risk", "yolo": "high_risk",
}  # fmt: skip
# Words skipped when looking for the ticker right after an action word: "adding to AMD", "out of the rest of SPY".
TICKER_FILLER = {
    "to", "of", "the", "my", "our", "rest", "remaining", "all", "more", "another", "a", "an", "some", "into",
    "on", "in", "back", "position", "pos", "here", "few", "x", "this", "these", "those", "again", "little",
    "bit", "most", "your", "starter", "lotto", "swing", "small", "half", "full", "size", "1/2", "now", "part",
    "partial", "partials", "portion",
}  # fmt: skip

# Never a ticker without a $ (words every alert uses, English function words, trading jargon).
NOT_TICKERS = frozenset(
    """
    a i an the and or but if so to of in on at by for from with as is it its it's be am are was were been do did
    done not no yes ok okay this that these those here there now then today tomorrow tonight week day days month
    year we you he she they me us my our your his her their them im i'm ive i've we're you're let's lets just still
    also too very much more most less all any some both each every few many one two three new old good great nice
    bad big small next last first again back off up down out over under into onto about after before above below
    near via per vs than what when where who why how which will can may might must should would could have has had
    get got go going gonna see let like want need keep make made take took left right hit hits run guys team
    everyone gm gn lol lmao omg wow hey hi hello thanks ty thx pls please morning afternoon evening night well only
    even ever soon later early late same other another such own way time lot bit little sure free real live hot top
    low high open close easy fast slow love fun win loss lose note notes reminder update alert alerts trade trades
    trading play plays position positions pos size risk reward ready nothing something anything everything things
    thing people guy man bro fam yall y'all ya u ur r n w b bc cuz because while until till since though although
    either neither anyone someone somebody nobody none nah yeah yep yup hmm bto sto stc btc buy sell bought sold
    long short calls call puts put c p otm itm atm dte exp expiry expiration strike strikes prem premium contract
    contracts cons shares share lotto lottos swing scalp scalps sl pt pts tp tps stop target targets tgt entry avg
    limit lmt debit credit spread spreads vertical leap leaps roll rolled rolling covered naked iron condor
    butterfly straddle strangle bull bear bullish bearish hod lod vwap ema sma rsi macd ath atl eod eow pm ah fomc
    cpi ppi nfp gdp fed er iv dd ta fa imo fyi asap usa eu uk cst est et pst utc weekly weeklies monthly trim
    trimmed add added adding risky yolo starter half full quarter fill filled price cost account acct port portfolio
    profit profits gain gains losses green red pump dump market markets futures stock stocks option options ticker
    tickers chart charts level levels support resistance breakout breakdown bounce rip dip moon mooning print
    printing runner runners letting ride riding hold holding held holders cheap tight wide momentum float volume vol
    bid ask mid mark nextweek closing closed opening opened entered exit exited grabbed scaling scale trail trailing
    ts breakeven sl's ratio leg legs weeks months jan feb mar apr jun jul aug sep sept oct nov dec january february
    march april june july august september october november december mon tue wed thu fri monday tuesday wednesday
    thursday friday saturday sunday x k e t s d m h light tiny normal regular double idea watch watching watchlist
    wl eyeing recap results review gap zero sized sizing mins min hr hrs hour hours lotto's
    lower higher later cheaper dips pullback pullbacks chase chasing missed miss fill fills partial partials
    rest remaining some flat lottery will gonna tmrw tho though cuz
    """.split()
)
