//! Italian regions and provinces with their ISTAT codes.
//!
//! Provinces as in the ISTAT list of 2016–2024 (107 units, Sardinia with Sud Sardegna); a
//! province is stored by its three-digit code, a region by its two-digit code.

use serde::Serialize;

/// A region: ISTAT code and name. Stored by its code; an unknown stored code is an error.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct Region {
    pub code: &'static str,
    pub name: &'static str,
}

/// A province: ISTAT code, vehicle-plate abbreviation (*sigla*), name and region code. Stored by
/// its code; an unknown stored code is an error.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct Province {
    pub code: &'static str,
    pub sigla: &'static str,
    pub name: &'static str,
    pub region: &'static str,
}

pub const REGIONS: &[Region] = &[
    Region {
        code: "01",
        name: "Piemonte",
    },
    Region {
        code: "02",
        name: "Valle d'Aosta",
    },
    Region {
        code: "03",
        name: "Lombardia",
    },
    Region {
        code: "04",
        name: "Trentino-Alto Adige",
    },
    Region {
        code: "05",
        name: "Veneto",
    },
    Region {
        code: "06",
        name: "Friuli-Venezia Giulia",
    },
    Region {
        code: "07",
        name: "Liguria",
    },
    Region {
        code: "08",
        name: "Emilia-Romagna",
    },
    Region {
        code: "09",
        name: "Toscana",
    },
    Region {
        code: "10",
        name: "Umbria",
    },
    Region {
        code: "11",
        name: "Marche",
    },
    Region {
        code: "12",
        name: "Lazio",
    },
    Region {
        code: "13",
        name: "Abruzzo",
    },
    Region {
        code: "14",
        name: "Molise",
    },
    Region {
        code: "15",
        name: "Campania",
    },
    Region {
        code: "16",
        name: "Puglia",
    },
    Region {
        code: "17",
        name: "Basilicata",
    },
    Region {
        code: "18",
        name: "Calabria",
    },
    Region {
        code: "19",
        name: "Sicilia",
    },
    Region {
        code: "20",
        name: "Sardegna",
    },
];

macro_rules! provinces {
    ($(($code:literal, $sigla:literal, $name:literal, $region:literal)),* $(,)?) => {
        pub const PROVINCES: &[Province] = &[
            $(Province { code: $code, sigla: $sigla, name: $name, region: $region }),*
        ];
    };
}

provinces![
    ("001", "TO", "Torino", "01"),
    ("002", "VC", "Vercelli", "01"),
    ("003", "NO", "Novara", "01"),
    ("004", "CN", "Cuneo", "01"),
    ("005", "AT", "Asti", "01"),
    ("006", "AL", "Alessandria", "01"),
    ("096", "BI", "Biella", "01"),
    ("103", "VB", "Verbano-Cusio-Ossola", "01"),
    ("007", "AO", "Aosta", "02"),
    ("012", "VA", "Varese", "03"),
    ("013", "CO", "Como", "03"),
    ("014", "SO", "Sondrio", "03"),
    ("015", "MI", "Milano", "03"),
    ("016", "BG", "Bergamo", "03"),
    ("017", "BS", "Brescia", "03"),
    ("018", "PV", "Pavia", "03"),
    ("019", "CR", "Cremona", "03"),
    ("020", "MN", "Mantova", "03"),
    ("097", "LC", "Lecco", "03"),
    ("098", "LO", "Lodi", "03"),
    ("108", "MB", "Monza e della Brianza", "03"),
    ("021", "BZ", "Bolzano", "04"),
    ("022", "TN", "Trento", "04"),
    ("023", "VR", "Verona", "05"),
    ("024", "VI", "Vicenza", "05"),
    ("025", "BL", "Belluno", "05"),
    ("026", "TV", "Treviso", "05"),
    ("027", "VE", "Venezia", "05"),
    ("028", "PD", "Padova", "05"),
    ("029", "RO", "Rovigo", "05"),
    ("030", "UD", "Udine", "06"),
    ("031", "GO", "Gorizia", "06"),
    ("032", "TS", "Trieste", "06"),
    ("093", "PN", "Pordenone", "06"),
    ("008", "IM", "Imperia", "07"),
    ("009", "SV", "Savona", "07"),
    ("010", "GE", "Genova", "07"),
    ("011", "SP", "La Spezia", "07"),
    ("033", "PC", "Piacenza", "08"),
    ("034", "PR", "Parma", "08"),
    ("035", "RE", "Reggio nell'Emilia", "08"),
    ("036", "MO", "Modena", "08"),
    ("037", "BO", "Bologna", "08"),
    ("038", "FE", "Ferrara", "08"),
    ("039", "RA", "Ravenna", "08"),
    ("040", "FC", "Forlì-Cesena", "08"),
    ("099", "RN", "Rimini", "08"),
    ("045", "MS", "Massa-Carrara", "09"),
    ("046", "LU", "Lucca", "09"),
    ("047", "PT", "Pistoia", "09"),
    ("048", "FI", "Firenze", "09"),
    ("049", "LI", "Livorno", "09"),
    ("050", "PI", "Pisa", "09"),
    ("051", "AR", "Arezzo", "09"),
    ("052", "SI", "Siena", "09"),
    ("053", "GR", "Grosseto", "09"),
    ("100", "PO", "Prato", "09"),
    ("054", "PG", "Perugia", "10"),
    ("055", "TR", "Terni", "10"),
    ("041", "PU", "Pesaro e Urbino", "11"),
    ("042", "AN", "Ancona", "11"),
    ("043", "MC", "Macerata", "11"),
    ("044", "AP", "Ascoli Piceno", "11"),
    ("109", "FM", "Fermo", "11"),
    ("056", "VT", "Viterbo", "12"),
    ("057", "RI", "Rieti", "12"),
    ("058", "RM", "Roma", "12"),
    ("059", "LT", "Latina", "12"),
    ("060", "FR", "Frosinone", "12"),
    ("066", "AQ", "L'Aquila", "13"),
    ("067", "TE", "Teramo", "13"),
    ("068", "PE", "Pescara", "13"),
    ("069", "CH", "Chieti", "13"),
    ("070", "CB", "Campobasso", "14"),
    ("094", "IS", "Isernia", "14"),
    ("061", "CE", "Caserta", "15"),
    ("062", "BN", "Benevento", "15"),
    ("063", "NA", "Napoli", "15"),
    ("064", "AV", "Avellino", "15"),
    ("065", "SA", "Salerno", "15"),
    ("071", "FG", "Foggia", "16"),
    ("072", "BA", "Bari", "16"),
    ("073", "TA", "Taranto", "16"),
    ("074", "BR", "Brindisi", "16"),
    ("075", "LE", "Lecce", "16"),
    ("110", "BT", "Barletta-Andria-Trani", "16"),
    ("076", "PZ", "Potenza", "17"),
    ("077", "MT", "Matera", "17"),
    ("078", "CS", "Cosenza", "18"),
    ("079", "CZ", "Catanzaro", "18"),
    ("080", "RC", "Reggio Calabria", "18"),
    ("101", "KR", "Crotone", "18"),
    ("102", "VV", "Vibo Valentia", "18"),
    ("081", "TP", "Trapani", "19"),
    ("082", "PA", "Palermo", "19"),
    ("083", "ME", "Messina", "19"),
    ("084", "AG", "Agrigento", "19"),
    ("085", "CL", "Caltanissetta", "19"),
    ("086", "EN", "Enna", "19"),
    ("087", "CT", "Catania", "19"),
    ("088", "RG", "Ragusa", "19"),
    ("089", "SR", "Siracusa", "19"),
    ("090", "SS", "Sassari", "20"),
    ("091", "NU", "Nuoro", "20"),
    ("092", "CA", "Cagliari", "20"),
    ("095", "OR", "Oristano", "20"),
    ("111", "SU", "Sud Sardegna", "20"),
];

impl Region {
    /// A region by ISTAT code (`"05"`, also `"5"`) or by name, case-insensitively.
    pub fn parse(input: &str) -> Option<Region> {
        let s = input.trim();
        if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() && s.len() <= 2 {
            let code = format!("{s:0>2}");
            return REGIONS.iter().copied().find(|r| r.code == code);
        }
        REGIONS.iter().copied().find(|r| r.name.eq_ignore_ascii_case(s))
    }

    pub fn by_code(code: &str) -> Option<Region> {
        REGIONS.iter().copied().find(|r| r.code == code)
    }
}

impl Province {
    /// A province by ISTAT code (`"027"`, also `"27"`), *sigla* (`"VE"`) or name.
    pub fn parse(input: &str) -> Option<Province> {
        let s = input.trim();
        if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() && s.len() <= 3 {
            let code = format!("{s:0>3}");
            return PROVINCES.iter().copied().find(|p| p.code == code);
        }
        PROVINCES
            .iter()
            .copied()
            .find(|p| p.sigla.eq_ignore_ascii_case(s) || p.name.eq_ignore_ascii_case(s))
    }

    pub fn by_code(code: &str) -> Option<Province> {
        PROVINCES.iter().copied().find(|p| p.code == code)
    }

    pub fn region(self) -> Region {
        Region::by_code(self.region).unwrap_or(REGIONS[0])
    }
}

/// Text mapping by ISTAT code, for `Region` and `Province`.
macro_rules! by_code {
    ($t:ident, $what:literal) => {
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $t
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self.code, out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $t
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let code = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                $t::by_code(&code)
                    .ok_or_else(|| format!("unknown {} code {:?} stored in the database", $what, code).into())
            }
        }
    };
}

by_code!(Region, "region");
by_code!(Province, "province");

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_list_has_107_distinct_provinces_in_known_regions() {
        assert_eq!(PROVINCES.len(), 107);
        let codes: HashSet<_> = PROVINCES.iter().map(|p| p.code).collect();
        let siglas: HashSet<_> = PROVINCES.iter().map(|p| p.sigla).collect();
        assert_eq!(codes.len(), 107);
        assert_eq!(siglas.len(), 107);
        assert!(PROVINCES.iter().all(|p| Region::by_code(p.region).is_some()));
        assert_eq!(REGIONS.len(), 20);
    }

    #[test]
    fn provinces_parse_by_code_sigla_or_name() {
        assert_eq!(Province::parse("27").map(|p| p.name), Some("Venezia"));
        assert_eq!(Province::parse("pd").map(|p| p.code), Some("028"));
        assert_eq!(Province::parse("Verona").map(|p| p.region().name), Some("Veneto"));
        assert_eq!(Province::parse("XX"), None);
        assert_eq!(Region::parse("5").map(|r| r.name), Some("Veneto"));
        assert_eq!(Region::parse("sicilia").map(|r| r.code), Some("19"));
        assert_eq!(Region::parse("21"), None);
    }
}
