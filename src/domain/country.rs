//! Citizenship as an ISO 3166-1 alpha-2 code, for the observatory and the CTDC export: the
//! countries of origin the crisis units meet most, with their Italian and English names and
//! demonyms, so that the nationality typed at intake ("nigeriana", "Nigerian", "NG") becomes a code
//! a report can count. A nationality not recognised is counted as not recorded, never guessed.

/// A country: ISO 3166-1 alpha-2 code, Italian and English names, and other words that name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Country {
    pub code: &'static str,
    pub it: &'static str,
    pub en: &'static str,
    aliases: &'static [&'static str],
}

macro_rules! countries {
    ($(($code:literal, $it:literal, $en:literal, [$($a:literal),*])),+ $(,)?) => {
        /// The countries known, by code.
        pub const COUNTRIES: &[Country] = &[$(Country { code: $code, it: $it, en: $en, aliases: &[$($a),*] }),+];
    };
}

countries! {
    ("AF", "Afghanistan", "Afghanistan", ["afghano", "afghana", "afgano", "afgana", "afghan"]),
    ("AL", "Albania", "Albania", ["albanese", "albanian"]),
    ("DZ", "Algeria", "Algeria", ["algerino", "algerina", "algerian"]),
    ("BD", "Bangladesh", "Bangladesh", ["bengalese", "bangladese", "bangladeshi"]),
    ("BR", "Brasile", "Brazil", ["brasiliano", "brasiliana", "brazilian"]),
    ("BG", "Bulgaria", "Bulgaria", ["bulgaro", "bulgara", "bulgarian"]),
    ("BF", "Burkina Faso", "Burkina Faso", ["burkinabè", "burkinabe"]),
    ("CM", "Camerun", "Cameroon", ["camerunense", "cameroonian"]),
    ("CN", "Cina", "China", ["cinese", "chinese"]),
    ("CI", "Costa d'Avorio", "Côte d'Ivoire", ["ivoriano", "ivoriana", "ivorian", "ivory coast"]),
    ("CO", "Colombia", "Colombia", ["colombiano", "colombiana", "colombian"]),
    ("CU", "Cuba", "Cuba", ["cubano", "cubana", "cuban"]),
    ("DO", "Repubblica Dominicana", "Dominican Republic", ["dominicano", "dominicana", "dominican"]),
    ("EG", "Egitto", "Egypt", ["egiziano", "egiziana", "egyptian"]),
    ("ER", "Eritrea", "Eritrea", ["eritreo", "eritrea", "eritrean"]),
    ("ET", "Etiopia", "Ethiopia", ["etiope", "ethiopian"]),
    ("GM", "Gambia", "Gambia", ["gambiano", "gambiana", "gambian"]),
    ("GH", "Ghana", "Ghana", ["ghanese", "ghanaian"]),
    ("GN", "Guinea", "Guinea", ["guineano", "guineana", "guinean"]),
    ("IN", "India", "India", ["indiano", "indiana", "indian"]),
    ("IQ", "Iraq", "Iraq", ["iracheno", "irachena", "iraqi"]),
    ("IT", "Italia", "Italy", ["italiano", "italiana", "italian"]),
    ("LY", "Libia", "Libya", ["libico", "libica", "libyan"]),
    ("MA", "Marocco", "Morocco", ["marocchino", "marocchina", "moroccan"]),
    ("MD", "Moldavia", "Moldova", ["moldavo", "moldava", "moldovan"]),
    ("ML", "Mali", "Mali", ["maliano", "maliana", "malian"]),
    ("NG", "Nigeria", "Nigeria", ["nigeriano", "nigeriana", "nigerian"]),
    ("PK", "Pakistan", "Pakistan", ["pakistano", "pakistana", "pakistani"]),
    ("PE", "Perù", "Peru", ["peruviano", "peruviana", "peruvian", "peru"]),
    ("PH", "Filippine", "Philippines", ["filippino", "filippina", "filipino", "filipina"]),
    ("RO", "Romania", "Romania", ["romeno", "romena", "rumeno", "rumena", "romanian"]),
    ("RU", "Russia", "Russia", ["russo", "russa", "russian"]),
    ("SN", "Senegal", "Senegal", ["senegalese"]),
    ("SL", "Sierra Leone", "Sierra Leone", ["sierraleonese", "sierra leonean"]),
    ("SO", "Somalia", "Somalia", ["somalo", "somala", "somali"]),
    ("LK", "Sri Lanka", "Sri Lanka", ["srilankese", "cingalese", "sri lankan"]),
    ("SD", "Sudan", "Sudan", ["sudanese"]),
    ("SY", "Siria", "Syria", ["siriano", "siriana", "syrian"]),
    ("TN", "Tunisia", "Tunisia", ["tunisino", "tunisina", "tunisian"]),
    ("TR", "Turchia", "Türkiye", ["turco", "turca", "turkish", "turkey"]),
    ("UA", "Ucraina", "Ukraine", ["ucraino", "ucraina", "ukrainian"]),
    ("VE", "Venezuela", "Venezuela", ["venezuelano", "venezuelana", "venezuelan"]),
}

impl Country {
    /// A country by ISO code (`NG`), name or demonym in Italian or English, case-insensitively.
    pub fn parse(input: &str) -> Option<Country> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return None;
        }
        COUNTRIES.iter().copied().find(|c| {
            c.code.eq_ignore_ascii_case(&s)
                || c.it.to_lowercase() == s
                || c.en.to_lowercase() == s
                || c.aliases.contains(&s.as_str())
        })
    }

    /// A country by its ISO code as stored.
    pub fn by_code(code: &str) -> Option<Country> {
        COUNTRIES.iter().copied().find(|c| c.code == code)
    }

    pub fn name(self, lang: super::Lang) -> &'static str {
        match lang {
            super::Lang::It => self.it,
            super::Lang::En => self.en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nationalities_as_typed_become_codes() {
        for typed in ["nigeriana", "Nigerian", "NG", " nigeria "] {
            assert_eq!(Country::parse(typed).map(|c| c.code), Some("NG"), "{typed}");
        }
        assert_eq!(Country::parse("marocchino").map(|c| c.code), Some("MA"));
        assert_eq!(Country::parse("Atlantide"), None);
        let mut codes: Vec<_> = COUNTRIES.iter().map(|c| c.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), COUNTRIES.len(), "codes are unique");
    }
}

crate::vocabulary! {
    /// The age bands of the CTDC global dataset (`ageBroad`), kept from the exact age at intake.
    AgeBroad ("age_broad") {
        From0To8 = "0--8" => ("0–8", "0–8"),
        From9To17 = "9--17" => ("9–17", "9–17"),
        From18To20 = "18--20" => ("18–20", "18–20"),
        From21To23 = "21--23" => ("21–23", "21–23"),
        From24To26 = "24--26" => ("24–26", "24–26"),
        From27To29 = "27--29" => ("27–29", "27–29"),
        From30To38 = "30--38" => ("30–38", "30–38"),
        From39To47 = "39--47" => ("39–47", "39–47"),
        From48 = "48+" => ("48 e oltre", "48 and over"),
    }
}

impl AgeBroad {
    pub fn of(age: i32) -> AgeBroad {
        match age {
            i32::MIN..=8 => AgeBroad::From0To8,
            9..=17 => AgeBroad::From9To17,
            18..=20 => AgeBroad::From18To20,
            21..=23 => AgeBroad::From21To23,
            24..=26 => AgeBroad::From24To26,
            27..=29 => AgeBroad::From27To29,
            30..=38 => AgeBroad::From30To38,
            39..=47 => AgeBroad::From39To47,
            _ => AgeBroad::From48,
        }
    }
}
