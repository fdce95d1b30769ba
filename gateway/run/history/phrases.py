"""What the shoppers and agents of the demo history say, in German and English.

FAQ questions and answers are not here: the history takes them from faq_data/topics/, the
bot's own knowledge. `{product}` is a product's name as the shopper's order calls it,
`{order}` an order number.
"""

from __future__ import annotations

# Per language: (lang) → texts. Every list has the same meaning in both languages.
Said = dict[str, tuple[str, ...]]

GREETINGS: Said = {
    "de": ("Hallo", "Guten Tag", "Hi", "Moin", "Hallo zusammen"),
    "en": ("Hello", "Hi", "Hi there", "Good morning"),
}
THANKS: Said = {
    "de": ("Danke!", "Super, danke", "Vielen Dank", "ok danke", "Perfekt, danke schön"),
    "en": ("Thanks!", "Great, thank you", "Thank you very much", "ok thanks", "Perfect, thanks"),
}
NOT_UNDERSTOOD: Said = {
    "de": ("hmm", "und jetzt?", "das hilft mir nicht", "???", "kann ich das auch anders machen"),
    "en": ("hmm", "what now?", "that doesn't help", "???", "can I do it another way"),
}
BOT_FALLBACK = {
    "de": "Das habe ich leider nicht verstanden. Können Sie es anders formulieren?",
    "en": "Sorry, I didn't understand that. Could you put it another way?",
}
BOT_GREETING = {
    "de": "Hallo! Ich bin der digitale Assistent von Nordlicht Home. Wie kann ich helfen?",
    "en": "Hello! I am Nordlicht Home's digital assistant. How can I help?",
}
BOT_WELCOME = {"de": "Gern geschehen! Schönen Tag noch.", "en": "You're welcome! Have a nice day."}

# --- "where is my order?" -------------------------------------------------------------

WISMO: Said = {
    "de": ("Wo ist meine Bestellung {order}?", "Wann kommt meine Bestellung {order}?",
           "Hallo, meine Bestellung {order} ist noch nicht da", "Sendungsstatus {order}",
           "Ist die Bestellung {order} schon unterwegs?"),
    "en": ("Where is my order {order}?", "When will order {order} arrive?",
           "Hi, my order {order} hasn't arrived yet", "Tracking for {order} please",
           "Has order {order} shipped yet?"),
}
WISMO_REPLY: Said = {  # a reply to a shipping notification
    "de": ("Wann genau kommt das Paket?", "Kann ich die Lieferung an eine Packstation umleiten?",
           "Kommt es noch diese Woche?"),
    "en": ("When exactly will it arrive?", "Can I send it to a Packstation instead?",
           "Will it arrive this week?"),
}
ASK_PROOF = {
    "de": "Gern sehe ich nach. Zur Sicherheit: Wie lautet die Postleitzahl der Lieferadresse?",
    "en": "Happy to check. To be safe: what is the postal code of the delivery address?",
}
ORDER_ON_ITS_WAY = {
    "de": "Ihre Bestellung {order} ist mit {carrier} unterwegs und kommt voraussichtlich in 1–2 Werktagen an.",
    "en": "Your order {order} is on its way with {carrier} and should arrive within 1–2 business days.",
}
ORDER_NOT_SHIPPED = {
    "de": "Ihre Bestellung {order} wird gerade gepackt und geht heute noch in den Versand.",
    "en": "Your order {order} is being packed and will be shipped today.",
}

# --- handoffs: what brings them, what the agents answer --------------------------------

# reason → (team, the shopper's opening message, the agent's answer, the shopper's reply, the agent's close)
Dialogue = tuple[str, str, str, str]
HANDOFFS: dict[str, tuple[str, dict[str, tuple[Dialogue, ...]]]] = {
    "shopper_asked": ("general", {
        "de": (("Ich möchte bitte mit einem Mitarbeiter sprechen.", "Hallo, hier ist der Kundenservice. Worum geht es?",
                "Ich möchte für unsere Firma 20 Kissenhüllen bestellen, gibt es Mengenrabatt?",
                "Ab 10 Stück gewähren wir 10 % – ich schicke Ihnen gleich ein Angebot per E-Mail."),
               ("Kann ich bitte mit einem Menschen chatten?", "Gern, ich bin da. Was kann ich für Sie tun?",
                "Bitte löschen Sie mein Kundenkonto und meine Daten.",
                "Erledigt: Ihr Konto wird gelöscht, Sie bekommen eine Bestätigung per E-Mail."),
               ("Mitarbeiter bitte", "Hallo! Wie kann ich helfen?",
                "Ich brauche einen Rückruf wegen einer größeren Bestellung.",
                "Gern, wir rufen Sie morgen zwischen 10 und 11 Uhr an.")),
        "en": (("I'd like to talk to a person, please.", "Hi, customer service here. What is it about?",
                "Do you ship to Switzerland, and are there customs fees?",
                "Yes, we ship to CH in 4–7 business days; import VAT is charged on delivery."),
               ("Can I chat with a human?", "Of course, I'm here. What can I do for you?",
                "Please send me an export of the data you hold about me.",
                "Done – you will receive the export by email within the next hour.")),
    }),
    "billing_problem": ("billing", {
        "de": (("Mir wurde die Bestellung {order} doppelt abgebucht.", "Das prüfe ich sofort für Sie.",
                "Auf dem Kontoauszug stehen zweimal 89,00 €.",
                "Die zweite Buchung war eine Vormerkung und wird in 3 Werktagen freigegeben."),
               ("Meine Klarna-Rechnung stimmt nicht, die Rücksendung fehlt.", "Ich sehe mir das an.",
                "Ich habe die Vase schon vor einer Woche zurückgeschickt.",
                "Die Rücksendung ist angekommen, ich habe die Rechnung bei Klarna korrigiert.")),
        "en": (("I was charged twice for order {order}.", "Let me check that right away.",
                "My statement shows two payments of 119.00 EUR.",
                "The second one is a pre-authorisation and will be released within 3 business days."),
               ("My voucher code was not applied at checkout.", "I'm sorry about that, let me look.",
                "It was a 10 EUR welcome voucher.",
                "I've refunded 10 EUR to your PayPal account.")),
    }),
    "delivered_not_received": ("logistics", {
        "de": (("Laut Sendungsverfolgung ist mein Paket zugestellt, aber hier ist nichts angekommen.",
                "Das tut mir leid. Ich frage bei DHL nach.", "Bei den Nachbarn ist es auch nicht.",
                "DHL hat es leider verloren – wir schicken Ihre Bestellung heute noch einmal los."),),
        "en": (("Tracking says delivered but there is no parcel here.", "I'm sorry. I'll ask the carrier.",
                "It is not with my neighbours either.",
                "The carrier lost it – we are sending your order again today."),),
    }),
    "order_problem": ("logistics", {
        "de": (("Ich möchte die Lieferadresse meiner Bestellung ändern.", "Gern, welche Adresse soll es sein?",
                "Bitte an Lindenstraße 4, 10969 Berlin.", "Erledigt, die Bestellung geht an die neue Adresse."),
               ("Kann ich meine Bestellung noch stornieren?", "Ich schaue, ob sie schon gepackt ist.",
                "Es ist die Bestellung von gestern Abend.", "Sie war noch nicht gepackt – ich habe sie storniert."),
               ("Ich will eine Expresslieferung nachbuchen.", "Das geht bis 14 Uhr, ich prüfe es.",
                "Es ist ein Geschenk für Samstag.", "Umgestellt auf Express, die Lieferung kommt morgen.")),
        "en": (("I need to change the delivery address of my order.", "Sure, what is the new address?",
                "Please send it to 12 Rue Oberkampf, 75011 Paris.", "Done, the order goes to the new address."),
               ("Can I still cancel my order?", "Let me see whether it is packed yet.",
                "It's the one from this morning.", "It wasn't packed yet – I have cancelled it.")),
    }),
    "repeated_misunderstanding": ("general", {
        "de": (("Ich hab das schon dreimal gefragt!", "Entschuldigung, ich übernehme. Worum geht es?",
                "Ich brauche eine Rechnung mit Firmenadresse.", "Ich habe Ihnen die korrigierte Rechnung gemailt."),),
        "en": (("I've asked this three times now!", "Sorry about that, I'll take over. What do you need?",
                "I need an invoice with my company address.", "I've emailed you the corrected invoice."),),
    }),
}

# --- complaints --------------------------------------------------------------------------

# A complaint about the service, naming no product (complaint handoffs to the general team).
SERVICE_COMPLAINTS: Said = {
    "de": ("Ich warte seit einer Woche auf eine Antwort zu meiner Rücksendung, niemand meldet sich.",
           "Der Paketbote hat nicht geklingelt und alles vor die Tür gestellt.",
           "Meine Erstattung ist nach drei Wochen immer noch nicht da.",
           "Ich finde es unmöglich, dass die Lieferung so lange gedauert hat."),
    "en": ("I've been waiting a week for an answer about my return, nobody gets back to me.",
           "The courier didn't ring and left everything outside the door.",
           "My refund still hasn't arrived after three weeks.",
           "The delivery took far too long, really disappointing."),
}
SERVICE_ANSWERS: Said = {
    "de": ("Das tut mir sehr leid. Ich kümmere mich sofort darum.",
           "Entschuldigen Sie bitte, ich kläre das und melde mich heute noch."),
    "en": ("I'm very sorry about that. I'll take care of it right away.",
           "Apologies – I'll sort this out and get back to you today."),
}
# sku → (German texts, English texts): the usual complaints each product gets now and then.
PRODUCT_COMPLAINTS: dict[str, Said] = {
    "NL-4410": {"de": ("Die {product} ist undicht, unten läuft Wasser raus.", "Die {product} kam mit einem Sprung an."),
                "en": ("The {product} leaks, water runs out at the bottom.", "The {product} arrived cracked.")},
    "NL-3007": {"de": ("Bei den {product} blättert die Glasur ab.", "Einer der {product} ist angeschlagen angekommen."),
                "en": ("The glaze on the {product} is peeling off.", "One of the {product} arrived chipped.")},
    "NL-5002": {"de": ("Die {product} flackert beim Dimmen.", "Die {product} geht nicht mehr an."),
                "en": ("The {product} flickers when I dim it.", "The {product} stopped working after two days.")},
    "NL-2040": {"de": ("Der {product} wackelt und steht schief.", "Der {product} hat einen tiefen Kratzer."),
                "en": ("The {product} wobbles and stands crooked.", "The {product} arrived with a deep scratch.")},
    "NL-1120": {"de": ("Die {product} fusselt stark.", "Die {product} ist nach dem Waschen eingelaufen."),
                "en": ("The {product} sheds everywhere.", "The {product} shrank in the wash.")},
    # The cushion cover's usual complaints, before its seams began to come apart.
    "NL-1001": {"de": ("Der Reißverschluss der {product} klemmt.", "Die Farbe der {product} ist ausgeblichen."),
                "en": ("The zip of the {product} gets stuck.", "The colour of the {product} faded in the wash.")},
}
PRODUCT_ANSWERS: Said = {
    "de": ("Das tut mir leid! Möchten Sie kostenlosen Ersatz oder Ihr Geld zurück?",
           "Oh nein, das sollte nicht sein. Sollen wir Ersatz schicken, oder möchten Sie eine Erstattung?"),
    "en": ("I'm sorry! Would you like a free replacement or your money back?",
           "Oh no, that shouldn't happen. Shall we send a replacement, or would you prefer a refund?"),
}
# The shopper's choice (it says nothing more about the problem: not another complaint).
PRODUCT_FOLLOWUPS: Said = {
    "de": ("Lieber Ersatz, bitte.", "Ersatz wäre super, danke."),
    "en": ("A replacement, please.", "A replacement would be great, thanks."),
}
PRODUCT_CLOSES: Said = {
    "de": ("Gern! Der Ersatz geht morgen raus, den defekten Artikel müssen Sie nicht zurückschicken.",
           "Erledigt: Ihr Ersatz ist bestellt, die Versandbestätigung kommt per E-Mail."),
    "en": ("Of course! The replacement ships tomorrow, no need to send the faulty one back.",
           "Done: your replacement is on order, you'll get the shipping confirmation by email."),
}

# The defect: the linen cushion cover's seams come apart (the history's one real cluster).
# (text, names the product): a report that names no product is attributed by its proven order.
DEFECT_REPORTS: dict[str, tuple[tuple[str, bool], ...]] = {
    "de": (("Die Naht an meiner Leinen-Kissenhülle ist nach dem ersten Waschen aufgegangen.", True),
           ("Hallo, bei meiner Kissenhülle löst sich an der Seite die Naht, die ist erst zwei Wochen alt.", True),
           ("Die Naht ist nach einer Woche aufgegangen, an einer Ecke ist schon ein Loch.", False),
           ("Bei beiden Kissenhüllen aus meiner Bestellung gehen die Nähte auf.", True),
           ("Die Leinen-Kissenhülle reißt an der Naht auf, obwohl ich sie nur einmal gewaschen habe.", True)),
    "en": (("The seam on my linen cushion cover came apart after one wash.", True),
           ("Hi, the stitching on the cushion cover I bought is coming loose along one side.", True),
           ("The seams came apart within a week, there's a hole in one corner now.", False),
           ("Both cushion covers from my order have holes along the seams.", True),
           ("My linen cushion cover is fraying at the seam already, it's only a week old.", True)),
}
DEFECT_CLOSES: Said = {
    "de": ("Gern – das ist eindeutig ein Nahtfehler. Sie bekommen kostenlos eine neue Hülle.",),
    "en": ("Of course – that's clearly a faulty seam. We'll send you a new cover free of charge.",),
}

# --- satisfaction comments -------------------------------------------------------------

PRAISE: Said = {
    "de": ("Super schnelle Hilfe, vielen Dank!", "Sehr freundlich und kompetent.", "Alles prima, gerne wieder.",
           "Toller Service, Problem in fünf Minuten gelöst.", "Danke, sehr hilfreich!"),
    "en": ("Quick and friendly, thank you!", "Great service, sorted in minutes.", "Very helpful, thanks a lot.",
           "Lovely support, much appreciated."),
}
SUGGESTIONS: Said = {
    "de": ("Schön wäre eine Sendungsverfolgung per WhatsApp.", "Ein Lieferfenster zum Auswählen wäre toll.",
           "Bitte bietet auch Geschenkverpackung in anderen Farben an.", "Der Chat könnte abends länger besetzt sein."),
    "en": ("It would be nice to pick a delivery slot.", "Please offer gift wrapping in more colours.",
           "A WhatsApp tracking update would be handy.", "Longer chat hours in the evening would help."),
}
SERVICE_GRIPES: Said = {  # scored 1 or 2: complaints about the service, no product
    "de": ("Ich musste viel zu lange warten.", "Niemand hat auf meine Frage geantwortet.",
           "Der Bot versteht mich nicht, das war mühsam.", "Die Antwort hat mir nicht weitergeholfen."),
    "en": ("I had to wait far too long.", "Nobody replied to my question.",
           "The bot doesn't understand me, that was tedious.", "The answer didn't help me at all."),
}
