"""Tables behind the demo sample: real Italian regions and cities, sectors, names."""

from __future__ import annotations

from domain.contacts import CompanyType, Source


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


# region: (weight, real cities of that region)
REGIONS: dict[str, tuple[int, tuple[str, ...]]] = {
    "Lombardia": (20, ("Milano", "Bergamo", "Brescia", "Monza", "Varese", "Como")),
    "Lazio": (12, ("Roma", "Latina", "Viterbo", "Frosinone")),
    "Campania": (8, ("Napoli", "Salerno", "Caserta")),
    "Piemonte": (8, ("Torino", "Novara", "Cuneo", "Alessandria")),
    "Emilia-Romagna": (10, ("Bologna", "Modena", "Parma", "Reggio Emilia", "Rimini")),
    "Veneto": (10, ("Venezia", "Verona", "Padova", "Vicenza", "Treviso")),
    "Toscana": (7, ("Firenze", "Pisa", "Prato", "Livorno", "Siena")),
    "Sicilia": (5, ("Palermo", "Catania", "Messina")),
    "Puglia": (5, ("Bari", "Lecce", "Taranto", "Foggia")),
    "Liguria": (3, ("Genova", "La Spezia", "Savona")),
    "Marche": (3, ("Ancona", "Pesaro", "Macerata")),
    "Friuli-Venezia Giulia": (2, ("Trieste", "Udine", "Pordenone")),
    "Trentino-Alto Adige": (2, ("Trento", "Bolzano")),
    "Umbria": (2, ("Perugia", "Terni")),
    "Abruzzo": (2, ("Pescara", "L'Aquila", "Chieti")),
    "Sardegna": (2, ("Cagliari", "Sassari")),
    "Calabria": (2, ("Reggio Calabria", "Cosenza", "Catanzaro")),
}
CITIES_BY_REGION: dict[str, tuple[str, ...]] = {r: c for r, (_, c) in REGIONS.items()}
REGION_WEIGHTS = {region: weight for region, (weight, _) in REGIONS.items()}

# sector: (weight, company-name patterns; "{}" is a surname)
SECTORS: dict[str, tuple[int, tuple[str, ...]]] = {
    "IT": (14, ("{} Software", "{} Informatica", "{} Digital", "Sistemi {}")),
    "Manifatturiero": (14, ("{} Meccanica", "Officine {}", "{} Metalli", "{} Plastica")),
    "Moda": (8, ("{} Moda", "Tessuti {}", "Calzaturificio {}", "Pelletteria {}")),
    "Agroalimentare": (9, ("Pastificio {}", "Caseificio {}", "Cantina {}", "Oleificio {}")),
    "Turismo": (6, ("Hotel {}", "{} Viaggi", "Agenzia {} Tour")),
    "Logistica": (7, ("Trasporti {}", "{} Logistica", "{} Spedizioni")),
    "Sanità": (6, ("{} Medicale", "Diagnostica {}", "{} Farmaceutici")),
    "Edilizia": (8, ("{} Costruzioni", "Edil {}", "{} Impianti")),
    "Energia": (5, ("{} Energia", "{} Solare", "Elettrica {}")),
    "Finanza": (5, ("{} Consulting", "Studio {} Associati", "{} Assicurazioni")),
    "Retail": (8, ("{} Distribuzione", "Market {}", "{} Commerciale")),
    "Automotive": (6, ("{} Autoricambi", "Carrozzeria {}", "{} Motori")),
}
SECTOR_WEIGHTS = {sector: weight for sector, (weight, _) in SECTORS.items()}

FIRST_NAMES = _words(
    "Marco Luca Giuseppe Francesco Alessandro Andrea Matteo Lorenzo Davide Simone Riccardo "
    "Stefano Paolo Giovanni Antonio Roberto Fabio Niccolò Federico Gabriele Emanuele Nicola "
    "Giulia Francesca Chiara Sara Martina Valentina Alessia Elena Laura Silvia Federica "
    "Anna Maria Elisa Giorgia Ilaria Roberta Paola Beatrice Camilla Serena Alice Marta Lucia"
)
SURNAMES = _words(
    "Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Greco, Bruno, "
    "Gallo, Conti, De Luca, Mancini, Costa, Giordano, Rizzo, Lombardi, Moretti, Barbieri, "
    "Fontana, Santoro, Mariani, Rinaldi, Caruso, Ferrara, Galli, Martini, Leone, Longo, "
    "Gentile, Martinelli, Vitale, Serra, Coppola, De Santis, D'Angelo, Marchetti, Parisi, "
    "Villa, Conte, Ferraro, Fabbri, Bianco, Marini, Grasso, Valentini, Messina, Sala, Gatti, "
    "Pellegrini, Palumbo, Sanna, Farina, Rizzi, Monti, Cattaneo, Morelli, Amato, Silvestri, "
    "Mazza, Testa, Caputo, Montanari, Guerra, Palmieri, Bernardi, Fiore, Benedetti, Barone",
    ", ",
)
JOB_TITLES = {
    "CEO": 5, "Amministratore Delegato": 4, "Titolare": 5, "CTO": 3, "CFO": 2,
    "Direttore Commerciale": 6, "Responsabile Acquisti": 7, "Marketing Manager": 7,
    "IT Manager": 5, "Sales Manager": 6, "Responsabile Amministrativo": 4, "Buyer": 4,
    "Responsabile HR": 3, "Project Manager": 4, "Responsabile Produzione": 3,
    "Office Manager": 3, "Responsabile Logistica": 2, "Digital Marketing Specialist": 3,
}  # fmt: skip
FREE_MAIL = ("gmail.com", "libero.it", "outlook.it", "yahoo.it", "virgilio.it", "tiscali.it")
MOBILE_PREFIXES = _words("320 324 328 329 331 333 335 338 339 340 345 347 348 349 366 380 388 392")
LEGAL_FORMS = {"S.r.l.": 60, "S.p.A.": 8, "S.n.c.": 10, "S.a.s.": 10, "S.r.l.s.": 8}
MID_SIZE_FORMS = {"S.r.l.": 3, "S.p.A.": 1}
COMPANY_TYPES = {CompanyType.PROSPECT: 50, CompanyType.CLIENT: 30,
                 CompanyType.PARTNER: 10, CompanyType.SUPPLIER: 10}  # fmt: skip
SOURCES = {Source.WEB: 30, Source.EVENT: 12, Source.REFERRAL: 12, Source.EMAIL: 12,
            Source.SOCIAL: 12, Source.PAID_ADS: 12, Source.IMPORT: 7,
            Source.PARTNER: 3}  # fmt: skip
# employees: (low, high) -> weight; most Italian companies are small
SIZE_BANDS = {(2, 9): 15, (10, 50): 45, (51, 200): 25, (201, 1000): 12, (1001, 5000): 3}
NEWSLETTER = {"settimanale": 4, "mensile": 5, "nessuna": 1}
# name -> description; a contact only gets tags that fit it (see _fits)
TAGS = {
    "Interessato a servizi premium": "Ha chiesto informazioni sull'offerta premium",
    "Fiere 2025": "Incontrato a una fiera di settore nel 2025",
    "Lead caldo": "Pronto per una proposta commerciale",
    "Newsletter": "Iscritto alla newsletter",
    "Webinar": "Ha partecipato a un webinar",
    "Acquisto": "Ha già acquistato",
    "Richiesta demo": "Ha chiesto una demo del prodotto",
    "Decisore": "Ha potere di firma",
    "Download whitepaper": "Ha scaricato un whitepaper",
    "Da ricontattare": "Da richiamare entro il trimestre",
    "Cliente fedele": "Cliente da più di due anni",
    "Evento Milano": "Invitato all'evento di Milano",
}
DECISION_MAKERS = ("CEO", "Amministratore Delegato", "Titolare", "CFO", "Direttore Commerciale")
