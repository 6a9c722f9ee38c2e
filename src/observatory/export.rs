//! The files an analyst takes away: tables as CSV (UTF-8, and the Italian flavour: semicolons,
//! decimal comma, a byte-order mark so that Excel opens it directly) and the record-level file
//! aligned to the IOM Counter Trafficking Data Collaborative (CTDC) global dataset. No file holds a
//! name, alias, contact, address, free text or exact date of birth: they are built from the typed,
//! non-identifying columns only. A text cell a spreadsheet would read as a formula is neutralised.

use std::collections::HashMap;

use super::disclosure::Published;
use super::model::{Indicator, MeansOfControl, Table, ALL, MEANS_OF_CONTROL};
use super::store::RecordRow;
use crate::domain::{Country, Lang};
use crate::error::AppError;
use crate::referrals::vocab::{ExploitationType, LabourSector, RecruiterRelation};

/// The flavour of a CSV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Csv {
    /// Commas, decimal point, UTF-8 without BOM.
    Plain,
    /// Semicolons, decimal comma, UTF-8 with BOM (what Italian spreadsheets open directly).
    Italian,
}

/// A cell a spreadsheet would read as a formula (leading `=`, `+`, `-`, `@`, tab or carriage
/// return) gets a leading apostrophe; numbers are written as numbers, never through this.
pub fn neutralise(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

fn writer(flavour: Csv) -> csv::Writer<Vec<u8>> {
    let mut out = Vec::new();
    if flavour == Csv::Italian {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    csv::WriterBuilder::new()
        .delimiter(if flavour == Csv::Italian { b';' } else { b',' })
        .flexible(true)
        .from_writer(out)
}

fn share(n: i64, of: i64, flavour: Csv) -> String {
    if of == 0 {
        return String::new();
    }
    let s = format!("{:.1}", n as f64 * 100.0 / of as f64);
    if flavour == Csv::Italian {
        s.replace('.', ",")
    } else {
        s
    }
}

/// What a table says of itself: what it counts, its period and territory, what was withheld.
pub fn statement(t: &Table, p: &Published, lang: Lang) -> Vec<String> {
    let it = lang == Lang::It;
    let spec = &t.spec;
    let mut lines = vec![
        format!(
            "{}: {}",
            if it { "Misura" } else { "Measure" },
            spec.measure.label(lang)
        ),
        format!(
            "{}: {} – {}",
            if it { "Periodo" } else { "Period" },
            spec.period.from.format(if it { "%d/%m/%Y" } else { "%Y-%m-%d" }),
            spec.period.to.format(if it { "%d/%m/%Y" } else { "%Y-%m-%d" })
        ),
        format!(
            "{}: {} ({})",
            if it { "Territorio" } else { "Territory" },
            spec.territory.label(lang),
            spec.basis.label(lang)
        ),
        if it {
            format!(
                "Persone collegate: {} segnalazioni collegate a {} persone",
                t.linked_referrals, t.linked_persons
            )
        } else {
            format!(
                "Linked persons: {} referrals linked to {} persons",
                t.linked_referrals, t.linked_persons
            )
        },
    ];
    lines.push(match (p.threshold, it) {
        (None, true) => "Valori esatti: uso interno dell'unità di crisi".to_owned(),
        (None, false) => "Exact counts: for use inside the crisis unit".to_owned(),
        (Some(th), true) => format!(
            "Controllo della divulgazione: soglia {th}; {} valori soppressi perché inferiori alla soglia, {} soppressi per proteggerli (x)",
            p.primary, p.secondary
        ),
        (Some(th), false) => format!(
            "Disclosure control: threshold {th}; {} counts withheld for being under it, {} withheld to protect them (x)",
            p.primary, p.secondary
        ),
    });
    if p.threshold.is_some() && !p.blocks.is_empty() {
        let blocks: Vec<String> = p
            .blocks
            .iter()
            .map(|b| Indicator::Quarter.value_label(b, lang))
            .collect();
        lines.push(if it {
            format!(
                "Regola: margini come nelle tabelle con meno dimensioni; periodo per blocchi ({}), un valore è mostrato solo se lo è in ogni blocco",
                blocks.join(", ")
            )
        } else {
            format!(
                "Rule: margins as in the tables with fewer dimensions; the period by blocks ({}), a count shown only if shown in every block",
                blocks.join(", ")
            )
        });
    }
    if let (Some(_), Some(from)) = (p.threshold, p.territory_from) {
        lines.push(if it {
            format!(
                "Territorio: colonna della tabella nazionale per {}",
                from.label(lang).to_lowercase()
            )
        } else {
            format!(
                "Territory: a column of the national table by {}",
                from.label(lang).to_lowercase()
            )
        });
    }
    if !spec.partitions() {
        lines.push(if it {
            "Un'unità può ricadere in più celle: i totali la contano una volta".to_owned()
        } else {
            "A unit may fall in more than one cell: totals count it once".to_owned()
        });
    }
    lines
}

fn dim_label(ind: Option<Indicator>, lang: Lang) -> String {
    ind.map_or_else(
        || if lang == Lang::It { "Totale" } else { "Total" }.to_owned(),
        |i| i.label(lang).to_owned(),
    )
}

fn shown(v: Option<i64>) -> String {
    v.map_or_else(|| "x".to_owned(), |n| n.to_string())
}

/// A table as CSV: a title line, the grid (rows by columns, with totals; a 1-D table also
/// with each row's share of the total), a blank line and the statement.
pub fn table_csv(t: &Table, p: &Published, lang: Lang, flavour: Csv) -> Result<Vec<u8>, AppError> {
    let mut w = writer(flavour);
    let total_label = if lang == Lang::It { "Totale" } else { "Total" };
    let one_d = t.spec.cols.is_none();
    let mut head = vec![neutralise(&format!(
        "{} \\ {}",
        dim_label(t.spec.rows, lang),
        dim_label(t.spec.cols, lang)
    ))];
    if one_d {
        head.push(t.spec.measure.label(lang).to_owned());
        head.push("%".to_owned());
    } else {
        head.extend(t.cols.iter().map(|c| neutralise(&label(t.spec.cols, c, lang))));
        head.push(total_label.to_owned());
    }
    w.write_record(&head).map_err(csv_error)?;
    for (r, key) in t.rows.iter().enumerate() {
        let mut line = vec![neutralise(&label(t.spec.rows, key, lang))];
        if one_d {
            line.push(shown(p.cells[r][0]));
            line.push(
                p.cells[r][0]
                    .zip(p.total)
                    .map_or_else(String::new, |(n, of)| share(n, of, flavour)),
            );
        } else {
            line.extend(p.cells[r].iter().map(|v| shown(*v)));
            line.push(shown(p.row_totals[r]));
        }
        w.write_record(&line).map_err(csv_error)?;
    }
    if t.spec.rows.is_some() {
        let mut line = vec![total_label.to_owned()];
        if one_d {
            line.push(shown(p.total));
            line.push(if p.total.is_some() {
                share(1, 1, flavour)
            } else {
                String::new()
            });
        } else {
            line.extend(p.col_totals.iter().map(|v| shown(*v)));
            line.push(shown(p.total));
        }
        w.write_record(&line).map_err(csv_error)?;
    }
    w.write_record([""]).map_err(csv_error)?;
    for s in statement(t, p, lang) {
        w.write_record([neutralise(&s)]).map_err(csv_error)?;
    }
    w.into_inner().map_err(|e| AppError::internal(e.into_error()))
}

fn label(ind: Option<Indicator>, code: &str, lang: Lang) -> String {
    match ind {
        Some(i) => i.value_label(code, lang),
        None => Indicator::Gender.value_label(ALL, lang),
    }
}

fn csv_error(e: csv::Error) -> AppError {
    AppError::internal(e)
}

// ----- the CTDC record-level file -----

/// The CTDC fields written, in order (see the README for each one's mapping).
pub const CTDC_FIELDS: &[&str] = &[
    "yearOfRegistration",
    "gender",
    "ageBroad",
    "majorityStatus",
    "citizenship",
    "CountryOfExploitation",
    "isForcedLabour",
    "isSexualExploit",
    "isOtherExploit",
    "meansOfControlDebtBondage",
    "meansOfControlTakesEarnings",
    "meansOfControlThreats",
    "meansOfControlPsychologicalAbuse",
    "meansOfControlPhysicalAbuse",
    "meansOfControlFalsePromises",
    "meansOfControlRestrictsMovement",
    "meansOfControlRestrictsMedicalCare",
    "meansOfControlExcessiveWorkingHours",
    "meansOfControlWithholdsDocuments",
    "meansOfControlNotSpecified",
    "typeOfLabourAgriculture",
    "typeOfLabourConstruction",
    "typeOfLabourDomesticWork",
    "typeOfLabourHospitality",
    "typeOfLabourManufacturing",
    "typeOfLabourOther",
    "typeOfSexProstitution",
    "typeOfSexPornography",
    "typeOfSexRemoteInteractiveServices",
    "typeOfSexPrivateSexualServices",
    "recruiterRelationIntimatePartner",
    "recruiterRelationFriend",
    "recruiterRelationFamily",
    "recruiterRelationOther",
    "recruiterRelationUnknown",
];

/// The quasi-identifiers k-anonymity holds for (a combination of them that occurs fewer than k
/// times could single a person out).
pub const QUASI_IDENTIFIERS: &[&str] = &[
    "yearOfRegistration",
    "gender",
    "ageBroad",
    "majorityStatus",
    "citizenship",
    "CountryOfExploitation",
];

/// One referral as a CTDC record, before generalisation.
#[derive(Clone, Debug, Default)]
pub struct CtdcRecord {
    pub year: i32,
    pub gender: &'static str,
    pub age_broad: String,
    pub majority: &'static str,
    pub citizenship: String,
    pub country_of_exploitation: &'static str,
    pub exploitation: Vec<ExploitationType>,
    pub sectors: Vec<LabourSector>,
    pub recruiters: Vec<RecruiterRelation>,
    pub means: Vec<MeansOfControl>,
    pub signs_of_prostitution: bool,
}

const MISSING: &str = "-99";

impl CtdcRecord {
    /// Gathers the rows of one referral (one per multi-valued fact) into a record.
    pub fn of(rows: &[RecordRow]) -> Option<CtdcRecord> {
        let first = rows.first()?;
        let mut rec = CtdcRecord {
            year: chrono::Datelike::year(&crate::clock::rome(first.received_at)),
            gender: match first.gender.as_str() {
                "female" => "Female",
                "male" => "Male",
                "trans" => "Transgender/NonConforming",
                _ => MISSING,
            },
            age_broad: first.age_broad.clone().unwrap_or_else(|| MISSING.to_owned()),
            majority: if first.minor {
                "Minor"
            } else if first.age_band.as_deref().is_some_and(|b| b != "unknown") || first.age_broad.is_some() {
                "Adult"
            } else {
                MISSING
            },
            citizenship: first
                .citizenship
                .as_deref()
                .and_then(Country::by_code)
                .map_or_else(|| MISSING.to_owned(), |c| c.code.to_owned()),
            country_of_exploitation: if first.exploitation_province.is_some() {
                "IT"
            } else {
                MISSING
            },
            ..CtdcRecord::default()
        };
        for r in rows {
            match r.fact.as_deref() {
                Some(f) if f.starts_with("x:") => {
                    if let Some(x) = ExploitationType::parse(&f[2..]) {
                        rec.exploitation.push(x);
                    }
                }
                Some(f) if f.starts_with("l:") => {
                    if let Some(s) = LabourSector::parse(&f[2..]) {
                        rec.sectors.push(s);
                    }
                }
                Some(f) if f.starts_with("r:") => {
                    if let Some(r) = RecruiterRelation::parse(&f[2..]) {
                        rec.recruiters.push(r);
                    }
                }
                Some(f) if f.starts_with("m:") => {
                    let id = &f[2..];
                    if id == "signs_of_prostitution" {
                        rec.signs_of_prostitution = true;
                    }
                    if let Some((_, m)) = MEANS_OF_CONTROL.iter().find(|(i, _)| *i == id) {
                        if !rec.means.contains(m) {
                            rec.means.push(*m);
                        }
                    }
                }
                _ => {}
            }
        }
        Some(rec)
    }

    fn quasi(&self) -> [String; 6] {
        [
            self.year.to_string(),
            self.gender.to_owned(),
            self.age_broad.clone(),
            self.majority.to_owned(),
            self.citizenship.clone(),
            self.country_of_exploitation.to_owned(),
        ]
    }

    /// The record generalised to `level`: 1 drops the age band (the majority status stays), 2
    /// also the citizenship, 3 also the gender.
    pub fn generalised(&self, level: u8) -> CtdcRecord {
        let mut r = self.clone();
        if level >= 1 {
            r.age_broad = MISSING.to_owned();
        }
        if level >= 2 {
            r.citizenship = MISSING.to_owned();
        }
        if level >= 3 {
            r.gender = MISSING;
        }
        r
    }

    fn fields(&self) -> Vec<String> {
        let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
        let has = |x: ExploitationType| self.exploitation.contains(&x);
        let known = !self.exploitation.is_empty();
        let exploit = |b: bool| if known { flag(b) } else { MISSING.to_owned() };
        let mut f = vec![
            self.year.to_string(),
            self.gender.to_owned(),
            self.age_broad.clone(),
            self.majority.to_owned(),
            self.citizenship.clone(),
            self.country_of_exploitation.to_owned(),
            exploit(has(ExploitationType::Labour)),
            exploit(has(ExploitationType::Sexual)),
            exploit(
                has(ExploitationType::Begging)
                    || has(ExploitationType::ForcedIllegalActivities)
                    || has(ExploitationType::ForcedMarriage)
                    || has(ExploitationType::Other),
            ),
        ];
        for m in [
            MeansOfControl::DebtBondage,
            MeansOfControl::TakesEarnings,
            MeansOfControl::Threats,
            MeansOfControl::PsychologicalAbuse,
            MeansOfControl::PhysicalAbuse,
            MeansOfControl::FalsePromises,
            MeansOfControl::RestrictsMovement,
            MeansOfControl::RestrictsMedicalCare,
            MeansOfControl::ExcessiveWorkingHours,
            MeansOfControl::WithholdsDocuments,
        ] {
            f.push(flag(self.means.contains(&m)));
        }
        f.push(flag(self.means.is_empty()));
        // The sector, for labour exploitation with at least one sector recorded; else missing.
        let sectors_known = has(ExploitationType::Labour) && !self.sectors.is_empty();
        for s in [
            LabourSector::Agriculture,
            LabourSector::Construction,
            LabourSector::DomesticWork,
            LabourSector::Hospitality,
            LabourSector::Manufacturing,
            LabourSector::Other,
        ] {
            f.push(if sectors_known {
                flag(self.sectors.contains(&s))
            } else {
                MISSING.to_owned()
            });
        }
        // Prostitution when sexual exploitation was reported with its signs; the other forms
        // are not recorded.
        f.push(if has(ExploitationType::Sexual) && self.signs_of_prostitution {
            "1".to_owned()
        } else {
            MISSING.to_owned()
        });
        for _ in 0..3 {
            f.push(MISSING.to_owned());
        }
        // The recruiter's relation, when at least one was reported; else missing.
        for r in [
            RecruiterRelation::IntimatePartner,
            RecruiterRelation::Friend,
            RecruiterRelation::Family,
            RecruiterRelation::Other,
            RecruiterRelation::NotKnown,
        ] {
            f.push(if self.recruiters.is_empty() {
                MISSING.to_owned()
            } else {
                flag(self.recruiters.contains(&r))
            });
        }
        f
    }
}

/// What the record file did to be safe.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CtdcStatement {
    /// The k applied: every combination of the quasi-identifiers occurs at least k times.
    pub k: i64,
    /// Records read (referrals of the period and territory).
    pub records: usize,
    /// Records written as they were.
    pub kept: usize,
    /// Records written with their age band removed (the majority status kept).
    pub age_generalised: usize,
    /// Records written also without citizenship.
    pub citizenship_generalised: usize,
    /// Records written also without gender.
    pub gender_generalised: usize,
    /// Records left out: even generalised, their combination occurred fewer than k times.
    pub dropped: usize,
}

impl CtdcStatement {
    pub fn lines(&self, lang: Lang) -> Vec<String> {
        if lang == Lang::It {
            vec![
                format!("k-anonimato con k = {} sulle variabili {}", self.k, QUASI_IDENTIFIERS.join(", ")),
                format!(
                    "{} record letti: {} invariati, {} senza fascia d'età, {} anche senza cittadinanza, {} anche senza genere, {} esclusi",
                    self.records, self.kept, self.age_generalised, self.citizenship_generalised, self.gender_generalised, self.dropped
                ),
                "Mai esportati: nomi, alias, contatti, indirizzi, testo libero, date di nascita; la data di registrazione è ridotta all'anno, il territorio al paese".to_owned(),
            ]
        } else {
            vec![
                format!("k-anonymity with k = {} over {}", self.k, QUASI_IDENTIFIERS.join(", ")),
                format!(
                    "{} records read: {} unchanged, {} without age band, {} also without citizenship, {} also without gender, {} dropped",
                    self.records, self.kept, self.age_generalised, self.citizenship_generalised, self.gender_generalised, self.dropped
                ),
                "Never exported: names, aliases, contacts, addresses, free text, dates of birth; the registration date is reduced to its year, the territory to the country".to_owned(),
            ]
        }
    }
}

/// Chooses the generalisation level of the records so that every combination of
/// quasi-identifiers written occurs at least k times in the file: each combination starts as it
/// is; a combination whose written class (records written with the same values, whatever their
/// level) holds fewer than k records goes up one level (1 removes the age band, 2 also the
/// citizenship, 3 also the gender) and past level 3 is dropped; repeated until nothing moves.
/// Records with the same values behave alike, so only the combinations are kept in memory, never
/// the records.
pub struct Anonymiser {
    k: i64,
    /// Level-0 combination → (records, level; 4 = dropped).
    groups: HashMap<[String; 6], (i64, u8)>,
}

/// The level past the last generalisation: dropped.
const DROPPED: u8 = 4;

impl Anonymiser {
    pub fn new(k: i64) -> Anonymiser {
        Anonymiser {
            k,
            groups: HashMap::new(),
        }
    }

    /// First pass: counts a record.
    pub fn count(&mut self, r: &CtdcRecord) {
        self.groups.entry(r.quasi()).or_insert((0, 0)).0 += 1;
    }

    fn written(key: &[String; 6], level: u8) -> [String; 6] {
        let mut k = key.clone();
        if level >= 1 {
            k[2] = MISSING.to_owned();
        }
        if level >= 2 {
            k[4] = MISSING.to_owned();
        }
        if level >= 3 {
            k[1] = MISSING.to_owned();
        }
        k
    }

    /// Settles every combination's level.
    pub fn settle(&mut self) {
        loop {
            let mut classes: HashMap<[String; 6], i64> = HashMap::new();
            for (key, (n, level)) in &self.groups {
                if *level < DROPPED {
                    *classes.entry(Self::written(key, *level)).or_default() += n;
                }
            }
            let mut moved = false;
            for (key, (_, level)) in self.groups.iter_mut() {
                if *level < DROPPED && classes.get(&Self::written(key, *level)).copied().unwrap_or(0) < self.k {
                    *level += 1;
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// Records by the level they will be written at (after `settle`): as they are, without age
    /// band, also without citizenship, also without gender, dropped.
    pub fn tally(&self) -> [usize; 5] {
        let mut t = [0usize; 5];
        for (n, level) in self.groups.values() {
            t[usize::from((*level).min(DROPPED))] += usize::try_from(*n).unwrap_or(0);
        }
        t
    }

    /// The level a record is written at, or `None` to drop it (after `settle`).
    pub fn level_of(&self, r: &CtdcRecord) -> Option<u8> {
        self.groups.get(&r.quasi()).map(|g| g.1).filter(|l| *l < DROPPED)
    }
}

/// The header of the record file.
pub fn ctdc_header() -> Vec<&'static str> {
    CTDC_FIELDS.to_vec()
}

/// A record's fields, neutralised.
pub fn ctdc_fields(r: &CtdcRecord) -> Vec<String> {
    r.fields()
        .into_iter()
        .map(|f| if f == MISSING { f } else { neutralise(&f) })
        .collect()
}

/// A table as an XLSX workbook: the same layout as the CSV, counts as real number cells (a
/// withheld one as the text `x`), every text cell written as text (never a formula).
pub fn table_xlsx(t: &Table, p: &Published, lang: Lang) -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| AppError::internal(e);
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet
        .set_name(if lang == Lang::It {
            "Osservatorio"
        } else {
            "Observatory"
        })
        .map_err(fail)?;
    let bold = Format::new().set_bold();
    let total_label = if lang == Lang::It { "Totale" } else { "Total" };
    let one_d = t.spec.cols.is_none();
    let put = |sheet: &mut rust_xlsxwriter::Worksheet, r: u32, c: u16, v: Option<i64>| match v {
        Some(n) => sheet.write_number(r, c, n as f64).map(|_| ()),
        None => sheet.write_string(r, c, "x").map(|_| ()),
    };
    sheet
        .write_string_with_format(
            0,
            0,
            format!("{} \\ {}", dim_label(t.spec.rows, lang), dim_label(t.spec.cols, lang)),
            &bold,
        )
        .map_err(fail)?;
    let mut col: u16 = 1;
    if one_d {
        sheet
            .write_string_with_format(0, 1, t.spec.measure.label(lang), &bold)
            .map_err(fail)?;
        sheet.write_string_with_format(0, 2, "%", &bold).map_err(fail)?;
    } else {
        for c in &t.cols {
            sheet
                .write_string_with_format(0, col, label(t.spec.cols, c, lang), &bold)
                .map_err(fail)?;
            col += 1;
        }
        sheet
            .write_string_with_format(0, col, total_label, &bold)
            .map_err(fail)?;
    }
    let mut row: u32 = 1;
    for (r, key) in t.rows.iter().enumerate() {
        sheet
            .write_string(row, 0, label(t.spec.rows, key, lang))
            .map_err(fail)?;
        if one_d {
            put(sheet, row, 1, p.cells[r][0]).map_err(fail)?;
            if let (Some(n), Some(of)) = (p.cells[r][0], p.total) {
                if of > 0 {
                    let pct = (n as f64 * 1000.0 / of as f64).round() / 10.0;
                    sheet.write_number(row, 2, pct).map_err(fail)?;
                }
            }
        } else {
            for (c, v) in p.cells[r].iter().enumerate() {
                put(sheet, row, c as u16 + 1, *v).map_err(fail)?;
            }
            put(sheet, row, t.cols.len() as u16 + 1, p.row_totals[r]).map_err(fail)?;
        }
        row += 1;
    }
    if t.spec.rows.is_some() {
        sheet
            .write_string_with_format(row, 0, total_label, &bold)
            .map_err(fail)?;
        if one_d {
            put(sheet, row, 1, p.total).map_err(fail)?;
        } else {
            for (c, v) in p.col_totals.iter().enumerate() {
                put(sheet, row, c as u16 + 1, *v).map_err(fail)?;
            }
            put(sheet, row, t.cols.len() as u16 + 1, p.total).map_err(fail)?;
        }
        row += 1;
    }
    row += 1;
    for s in statement(t, p, lang) {
        sheet.write_string(row, 0, s).map_err(fail)?;
        row += 1;
    }
    sheet.set_column_width(0, 40).map_err(fail)?;
    book.save_to_buffer().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fact: Option<&str>) -> RecordRow {
        RecordRow {
            id: 1,
            received_at: chrono::NaiveDate::from_ymd_opt(2021, 3, 1)
                .and_then(|d| d.and_hms_opt(10, 0, 0))
                .expect("instant"),
            gender: "female".to_owned(),
            age_broad: Some("18--20".to_owned()),
            minor: false,
            age_band: Some("18-24".to_owned()),
            citizenship: Some("NG".to_owned()),
            exploitation_province: None,
            source_kind: "police".to_owned(),
            fact: fact.map(str::to_owned),
        }
    }

    fn field<'a>(fields: &'a [String], name: &str) -> &'a str {
        let i = CTDC_FIELDS.iter().position(|f| *f == name).expect("field");
        &fields[i]
    }

    #[test]
    fn the_sector_of_labour_is_flagged_only_when_recorded_with_labour_exploitation() {
        let rec = CtdcRecord::of(&[
            row(Some("x:labour")),
            row(Some("l:agriculture")),
            row(Some("l:hospitality")),
        ])
        .expect("record");
        let f = rec.fields();
        assert_eq!(f.len(), CTDC_FIELDS.len());
        assert_eq!(field(&f, "isForcedLabour"), "1");
        assert_eq!(field(&f, "typeOfLabourAgriculture"), "1");
        assert_eq!(field(&f, "typeOfLabourHospitality"), "1");
        assert_eq!(field(&f, "typeOfLabourConstruction"), "0");
        let unknown = CtdcRecord::of(&[row(Some("x:labour"))]).expect("record").fields();
        assert_eq!(field(&unknown, "typeOfLabourAgriculture"), "-99");
        let sexual = CtdcRecord::of(&[row(Some("x:sexual"))]).expect("record").fields();
        assert_eq!(field(&sexual, "isForcedLabour"), "0");
        assert_eq!(field(&sexual, "typeOfLabourOther"), "-99");
        assert_eq!(field(&sexual, "recruiterRelationFamily"), "-99");
        let family = CtdcRecord::of(&[row(Some("x:sexual")), row(Some("r:family"))])
            .expect("record")
            .fields();
        assert_eq!(field(&family, "recruiterRelationFamily"), "1");
        assert_eq!(field(&family, "recruiterRelationFriend"), "0");
        assert_eq!(field(&family, "recruiterRelationUnknown"), "0");
    }
}
