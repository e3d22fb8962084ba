"""The bundled sample: a small, realistic web corpus the project builds itself and
packs into a WARC with warcio, so the main job runs on a fresh machine without data.

Deterministic: the same bytes on every call (fixed dates, record ids and order, and
gzip members written with mtime 0). What it holds, and what the pipeline should do:

- good articles in English (kept);
- boilerplate-heavy pages: navigation, cookie banners, footers around a few words
  (little survives extraction; the quality filter drops them);
- spam: keyword stuffing without function words (dropped by Gopher quality);
- German, French and Spanish articles (dropped by language ID);
- exact duplicates: an article republished at another URL, and one that differs only
  in case and whitespace (dropped by exact dedup);
- a page in windows-1252 declared only in a ``<meta>`` tag, and one with bytes that
  are invalid in its declared charset (both decoded, not fatal);
- records that are not pages: warcinfo, requests, metadata, a PNG, a 404 (each
  counted under its reason).
"""

from __future__ import annotations

import gzip
import hashlib
import html
import io
import os
import random
import uuid

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

FETCH_DATE = "2026-01-15T12:00:00Z"
# Copies turn up later than their originals (so "keep the oldest" keeps the original).
COPY_FETCH_DATE = "2026-02-01T08:30:00Z"
COPY_KINDS = {"duplicate", "duplicate_normalized", "charset_meta", "bad_bytes"}

TOPICS = {
    "bees": (
        "How honeybees keep their hive at the right temperature",
        [
            "A honeybee colony behaves in many ways like a single organism, and nowhere is that clearer than in the way it controls the temperature of its nest.",
            "The brood, which is the name beekeepers give to the eggs, larvae and pupae, develops properly only when it is kept between 32 and 36 degrees Celsius.",
            "When the air outside turns cold, worker bees cluster tightly around the brood and shiver their flight muscles without moving their wings, which produces heat.",
            "On hot days the same workers do the opposite: they fan their wings at the entrance to pull air through the hive and carry water that cools the comb as it evaporates.",
            "Researchers have found that individual bees differ in the temperature at which they start to fan, and that this variety helps the colony respond smoothly rather than all at once.",
            "Colonies that were bred to be genetically uniform swung between too hot and too cold far more than colonies with many fathers, a result that surprised the team.",
            "Beekeepers can help by giving the hive shade in summer and by making sure that it is not exposed to strong winds in winter.",
            "A healthy colony of about twenty thousand bees can keep its core warm even when the temperature outside falls well below freezing.",
            "The bees eat stored honey to fuel this work, so a colony that enters winter with too little food may starve even though it is otherwise strong.",
            "Scientists are now studying whether the same simple rules could help engineers design buildings that heat and cool themselves with little energy.",
        ],
    ),
    "bread": (
        "A beginner's guide to baking sourdough bread at home",
        [
            "Sourdough bread is made with a starter, a living culture of wild yeast and bacteria that you keep in a jar and feed with flour and water.",
            "The starter gives the bread its rise and its gently sour taste, and it takes about a week of daily feeding before it is strong enough to use.",
            "To make a loaf, mix flour, water and a little of the active starter, then leave the dough to rest for half an hour so that the flour can absorb the water.",
            "After the rest, add salt and fold the dough over itself every thirty minutes for the first two hours, which builds strength without heavy kneading.",
            "The dough then rises slowly, and the time it needs depends far more on the temperature of your kitchen than on any number written in a recipe.",
            "When it has grown by about half and feels airy, shape it into a tight ball and let it rest overnight in the fridge, where the flavour develops.",
            "Bake the loaf in a very hot covered pot for the first twenty minutes, so that the steam trapped inside lets the crust expand before it sets.",
            "Remove the lid for the last part of the bake to let the crust turn a deep brown, and then wait at least an hour before you cut the bread.",
            "Most problems that beginners have come from a starter that is not yet active enough, so be patient with it in the first weeks.",
            "Keep notes on each bake, because small changes in flour, water and time add up, and your notes will show you what works in your kitchen.",
        ],
    ),
    "rail": (
        "Why night trains are coming back across Europe",
        [
            "Ten years ago it looked as if the sleeper train was finished in Europe, as one operator after another cancelled routes that had run for decades.",
            "Today the picture is very different, and new night services connect cities such as Vienna, Amsterdam, Brussels and Berlin with overnight journeys.",
            "Part of the reason is that many travellers want to avoid short flights, and a train that leaves in the evening and arrives in the morning saves a night in a hotel.",
            "Operators have also invested in new carriages with small private cabins, which are much more comfortable than the old shared compartments.",
            "Running a night train is still difficult, because the trains must cross several national networks, each with its own rules, fees and safety systems.",
            "Track access charges can make up a large share of the cost of a ticket, and some governments have started to reduce them to help the services survive.",
            "Passengers often complain that tickets are hard to find and to book, since there is no single website that sells journeys across the whole continent.",
            "Despite these problems, most new routes have been popular, and many trains are fully booked weeks ahead during the summer holidays.",
            "Supporters argue that the trains should be treated as part of the climate plan of each country rather than as a purely commercial service.",
            "Whether the revival lasts will depend on stable funding and on the arrival of enough new carriages to run the trains every night of the year.",
        ],
    ),
    "sleep": (
        "What scientists have learned about sleep and memory",
        [
            "For a long time sleep was seen as a passive state in which the brain simply rested, but research over the past decades has changed that view completely.",
            "During deep sleep, the brain replays patterns of activity that were recorded during the day, and this replay appears to strengthen new memories.",
            "In one well known study, people who learned a list of word pairs and then slept remembered more of the list the next day than people who stayed awake.",
            "The benefit was largest for the words that had been the hardest to learn, which suggests that the sleeping brain chooses what to keep.",
            "Dreaming sleep seems to play a different role, and some scientists think that it helps to link new memories with older knowledge in a useful way.",
            "Lack of sleep has the opposite effect, and even one short night can make it harder to form new memories on the following day.",
            "Older adults often sleep less deeply, and researchers are testing whether gentle sounds played at the right moment can deepen their sleep again.",
            "Early results are promising, but the effects have been small, and it is not yet clear whether they last over weeks and months.",
            "For now, the best advice is also the simplest: keep regular hours, keep the bedroom dark and cool, and avoid screens late in the evening.",
            "Students preparing for exams may gain more from a good night of sleep than from a few extra hours of study at the end of the day.",
        ],
    ),
    "tides": (
        "Understanding the tides: the moon, the sun and the shape of the coast",
        [
            "Twice a day in most places the sea rises and falls along the shore, a rhythm that people have observed and recorded for thousands of years.",
            "The main cause of the tides is the gravity of the moon, which pulls on the oceans and raises a bulge of water on the side of the earth that faces it.",
            "A second bulge forms on the opposite side of the earth, and as the planet turns each coast passes through both bulges every day.",
            "The sun has a similar effect, and when the sun and the moon are in line the two pulls add together to produce especially high spring tides.",
            "When they are at right angles to each other the effects partly cancel, and the difference between high and low water is smaller.",
            "The shape of the coast and the depth of the sea matter a great deal, which is why the tidal range is tiny in some places and enormous in others.",
            "In a long funnel shaped bay the water can pile up as it moves inland, and the highest tides in the world are found in places like this.",
            "Tide tables are calculated from long records of the water level at each harbour, combined with the known movements of the moon and the sun.",
            "Sailors, fishermen and walkers on the beach all depend on these tables, and ignoring them has cost many people their boats and sometimes their lives.",
            "Engineers are also studying how the regular movement of the tides could be used to produce electricity that is far more predictable than wind.",
        ],
    ),
    "libraries": (
        "The quiet transformation of the public library",
        [
            "Public libraries were once places where people came mainly to borrow books, but their role in many towns has grown far beyond that.",
            "Today a library may offer free internet access, help with job applications, language classes and a warm place to sit for people who have nowhere else to go.",
            "Librarians say that the number of visitors has stayed high even as the number of books borrowed has fallen in many places.",
            "Children's reading groups remain among the most popular events, and many parents say that the library was where their children first learned to love stories.",
            "Some libraries now lend tools, musical instruments and even seeds for the garden, on the idea that sharing things is better than everyone buying them.",
            "Funding is a constant worry, and in several countries hundreds of branches have closed or now rely on volunteers to open their doors.",
            "Studies of the value of libraries have found that every unit of money spent returns several times as much to the local community.",
            "Architects have also taken a new interest in library buildings, designing bright open spaces that invite people to stay for a while.",
            "The challenge for the coming years is to keep the library free and open to all while adapting to the changing needs of its visitors.",
            "For many people the library is still the one public place where they can spend an afternoon without being asked to buy anything at all.",
        ],
    ),
}

FOREIGN = {
    "de": (
        "Warum Nachtzüge in Europa zurückkehren",
        "Vor zehn Jahren sah es so aus, als sei der Nachtzug in Europa am Ende. Heute verbinden neue Verbindungen Städte wie Wien, Amsterdam und Berlin. "
        "Viele Reisende wollen kurze Flüge vermeiden, und ein Zug, der am Abend abfährt und am Morgen ankommt, spart eine Nacht im Hotel. "
        "Die Betreiber haben in neue Wagen mit kleinen privaten Kabinen investiert, die viel bequemer sind als die alten Abteile. "
        "Trotzdem bleibt der Betrieb schwierig, weil die Züge mehrere nationale Netze mit eigenen Regeln und Gebühren durchqueren müssen. "
        "Ob die Rückkehr von Dauer ist, hängt von einer stabilen Finanzierung und von genügend neuen Wagen ab.",
    ),
    "fr": (
        "Comment les abeilles régulent la température de la ruche",
        "Une colonie d'abeilles se comporte à bien des égards comme un seul organisme, et cela se voit surtout dans la manière dont elle contrôle la température du nid. "
        "Le couvain ne se développe correctement que s'il est maintenu entre trente-deux et trente-six degrés. "
        "Quand l'air devient froid, les ouvrières se serrent autour du couvain et font trembler leurs muscles sans bouger les ailes, ce qui produit de la chaleur. "
        "Par temps chaud, elles ventilent l'entrée de la ruche et apportent de l'eau qui rafraîchit les rayons en s'évaporant. "
        "Les chercheurs étudient maintenant si ces règles simples pourraient aider à concevoir des bâtiments économes en énergie.",
    ),
    "es": (
        "Lo que la ciencia ha aprendido sobre el sueño y la memoria",
        "Durante mucho tiempo se pensó que el sueño era un estado pasivo en el que el cerebro simplemente descansaba, pero la investigación ha cambiado esa idea. "
        "Durante el sueño profundo, el cerebro repite patrones de actividad registrados durante el día, y esa repetición parece reforzar los recuerdos nuevos. "
        "En un estudio conocido, las personas que aprendieron una lista de palabras y luego durmieron recordaron más al día siguiente que las que permanecieron despiertas. "
        "La falta de sueño tiene el efecto contrario, e incluso una sola noche corta puede dificultar la formación de nuevos recuerdos. "
        "Por ahora, el mejor consejo es también el más sencillo: mantener horarios regulares y evitar las pantallas por la noche.",
    ),
}

NAV = [
    "Home",
    "News",
    "Sport",
    "Business",
    "Culture",
    "Travel",
    "Opinion",
    "Video",
    "Podcasts",
    "Newsletters",
    "Subscribe",
    "Log in",
]
COOKIE = "We use cookies to improve your experience. By continuing to browse you agree to our use of cookies. Accept all | Manage settings | Privacy policy"
FOOTER = [
    "About us",
    "Contact",
    "Careers",
    "Advertise",
    "Terms of use",
    "Privacy policy",
    "Cookie settings",
    "Accessibility",
    "Sitemap",
    "© 2026 Example Media Group. All rights reserved.",
]
SPAM_WORDS = [
    "cheap",
    "pills",
    "casino",
    "bonus",
    "free",
    "spins",
    "online",
    "discount",
    "replica",
    "watches",
    "viagra",
    "loans",
    "crypto",
    "jackpot",
    "win",
    "best",
    "price",
    "buy",
    "now",
    "deal",
]


def _page(title: str, paragraphs: list[str], lang: str = "en", charset: str = "utf-8", chrome: bool = True) -> str:
    """An article page with the chrome real sites wrap around their text."""
    esc = html.escape
    nav = "".join(f'<li><a href="/{esc(n.lower())}">{esc(n)}</a></li>' for n in NAV)
    foot = "".join(f'<li><a href="/f/{i}">{esc(f)}</a></li>' for i, f in enumerate(FOOTER))
    body = "".join(f"<p>{esc(p)}</p>\n" for p in paragraphs)
    chrome_top = (
        f'<header><nav><ul>{nav}</ul></nav><div class="cookie-banner">{esc(COOKIE)}</div></header>' if chrome else ""
    )
    chrome_bottom = (
        f'<aside class="related"><h3>Most read</h3><ul><li><a href="/a">Ten things to do this weekend</a></li>'
        f'<li><a href="/b">Weather warning for the coast</a></li></ul></aside><footer><ul>{foot}</ul></footer>'
        if chrome
        else ""
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="{charset}"><title>{esc(title)}</title></head>\n'
        f"<body>{chrome_top}<main><article><h1>{esc(title)}</h1>\n{body}</article></main>{chrome_bottom}</body></html>\n"
    )


def _article(topic: str, rng: random.Random, n_paragraphs: int = 4) -> tuple[str, list[str]]:
    title, sentences = TOPICS[topic]
    sentences = list(sentences)
    paragraphs = []
    per = max(2, len(sentences) // n_paragraphs)
    for i in range(0, len(sentences), per):
        paragraphs.append(" ".join(sentences[i : i + per]))
    return title, paragraphs


def sample_pages() -> list[dict]:
    """The sample's records, in WARC order: dicts with url, kind and payload details."""
    rng = random.Random(20260115)
    pages = []

    def add(url, body: bytes, content_type="text/html; charset=utf-8", status="200 OK", kind="page"):
        pages.append({"url": url, "body": body, "content_type": content_type, "status": status, "kind": kind})

    for topic in TOPICS:
        title, paras = _article(topic, rng)
        add(f"https://news.example.org/{topic}", _page(title, paras).encode("utf-8"), kind="good")
    # Republished copies: byte-identical text at another site, and a copy that differs
    # only in case and whitespace.
    title, paras = _article("bees", rng)
    add(
        "https://mirror.example.net/science/bees-hive-temperature",
        _page(title, paras).encode("utf-8"),
        kind="duplicate",
    )
    title, paras = _article("rail", rng)
    shouty = [p.replace(". ", ".  ").upper() if i == 0 else p for i, p in enumerate(paras)]
    add("https://aggregator.example.com/rail?id=7", _page(title, shouty).encode("utf-8"), kind="duplicate_normalized")
    # Boilerplate-heavy pages: all chrome, a couple of lines of content.
    for i, teaser in enumerate(["Sign up to read this story.", "This video is no longer available in your region."]):
        add(f"https://news.example.org/video/{i}", _page("Breaking", [teaser]).encode("utf-8"), kind="boilerplate")
    # Spam: keyword stuffing without function words.
    for i in range(2):
        words = [rng.choice(SPAM_WORDS) for _ in range(220)]
        lines = [" ".join(words[j : j + 11]).capitalize() + "!!!" for j in range(0, len(words), 11)]
        add(
            f"https://spam{i}.example.biz/best-deals",
            _page("BEST DEALS ONLINE", lines, chrome=False).encode("utf-8"),
            kind="spam",
        )
    # Other languages.
    for lang, (title, text) in FOREIGN.items():
        paras = [s.strip() + "." for s in text.split(". ") if s.strip()]
        add(
            f"https://{lang}.example.eu/artikel", _page(title, paras, lang=lang).encode("utf-8"), kind=f"foreign_{lang}"
        )
    # windows-1252 declared only in <meta>, with characters outside Latin-1's ASCII part.
    title, paras = _article("libraries", rng)
    paras = [p.replace("people", "people\u2019s friends") if i == 0 else p for i, p in enumerate(paras)]
    paras[0] = "\u201cA library is a caf\u00e9 for the mind,\u201d says one librarian. " + paras[0]
    add(
        "https://old.example.org/library.html",
        _page(title + " (archive)", paras, charset="windows-1252").encode("cp1252"),
        content_type="text/html",
        kind="charset_meta",
    )
    # Invalid bytes for the declared charset: decoded with replacement characters.
    title, paras = _article("tides", rng)
    body = _page(title + ": a guide", paras).encode("utf-8").replace(b"Twice a day", b"Twice a day \xff\xfe")
    add("https://broken.example.org/tides", body, kind="bad_bytes")
    # Not pages.
    png = b"\x89PNG\r\n\x1a\n" + hashlib.sha256(b"pixel").digest()
    add("https://news.example.org/logo.png", png, content_type="image/png", kind="not_html")
    add(
        "https://news.example.org/missing",
        _page("Not found", ["The page you requested does not exist."]).encode("utf-8"),
        status="404 Not Found",
        kind="http_404",
    )
    return pages


def _record_id(url: str, kind: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, kind + ':' + url)}>"


def write_sample_warc(path: str) -> int:
    """Write the sample as a gzipped WARC at ``path``; return the number of records."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False, warc_version="WARC/1.1")
    records = []

    def warc_headers(rec_type, url, kind):
        date = COPY_FETCH_DATE if kind in COPY_KINDS else FETCH_DATE
        return {"WARC-Date": date, "WARC-Record-ID": _record_id(url, kind + rec_type)}

    info = writer.create_warcinfo_record(
        "sample.warc.gz", {"software": "curate sample builder", "format": "WARC File Format 1.1"}
    )
    info.rec_headers.replace_header("WARC-Date", FETCH_DATE)
    info.rec_headers.replace_header("WARC-Record-ID", _record_id("sample", "warcinfo"))
    records.append(info)
    for page in sample_pages():
        url = page["url"]
        req_headers = StatusAndHeaders(
            "GET / HTTP/1.1", [("Host", url.split("/")[2]), ("User-Agent", "curate-sample/1.0")], is_http_request=True
        )
        records.append(
            writer.create_warc_record(
                url, "request", http_headers=req_headers, warc_headers_dict=warc_headers("request", url, page["kind"])
            )
        )
        http_headers = StatusAndHeaders(
            page["status"],
            [("Content-Type", page["content_type"]), ("Content-Length", str(len(page["body"])))],
            protocol="HTTP/1.1",
        )
        records.append(
            writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(page["body"]),
                length=len(page["body"]),
                http_headers=http_headers,
                warc_headers_dict=warc_headers("response", url, page["kind"]),
            )
        )
        records.append(
            writer.create_warc_record(
                url,
                "metadata",
                payload=io.BytesIO(f"kind: {page['kind']}\n".encode()),
                length=len(f"kind: {page['kind']}\n"),
                warc_content_type="application/warc-fields",
                warc_headers_dict=warc_headers("metadata", url, page["kind"]),
            )
        )
    # One gzip member per record (as Common Crawl does), mtime 0 for identical bytes.
    out = io.BytesIO()
    for rec in records:
        member = io.BytesIO()
        WARCWriter(member, gzip=False, warc_version="WARC/1.1").write_record(rec)
        gz = io.BytesIO()
        with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
            g.write(member.getvalue())
        out.write(gz.getvalue())
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(out.getvalue())
    return len(records)
