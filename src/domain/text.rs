//! What counts as text. Control characters other than tab, line feed and carriage return (which
//! browsers send in multi-line fields) are not text: PostgreSQL refuses NUL outright, and the
//! others hide in names and notes. Input is refused at the edge with the field named; text from
//! elsewhere (an imported email) is cleaned.

/// The message of a refused field.
pub const CONTROL_CHARACTERS: &str = "must not contain control characters";

/// Whether `c` is a control character that text may not hold.
pub fn is_forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Whether `s` holds a character text may not hold.
pub fn has_forbidden(s: &str) -> bool {
    s.chars().any(is_forbidden)
}

/// `s` without the characters text may not hold.
pub fn clean(s: &str) -> String {
    s.chars().filter(|c| !is_forbidden(*c)).collect()
}

/// Whether a JSON body may hold such a character: a `\u` escape of a C0 control or DEL, or a C1
/// control in UTF-8 (`C2 80`–`C2 9F`). Raw C0 controls are not valid JSON inside strings. A
/// cheap test before the exact one, which walks the parsed document.
pub fn json_may_hold_forbidden(body: &[u8]) -> bool {
    body.windows(2).any(|w| w[0] == 0xC2 && (0x80..=0x9F).contains(&w[1]))
        || body
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"\\u00") || w.eq_ignore_ascii_case(b"\\u007"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_not_text_but_tabs_and_line_breaks_are() {
        assert!(has_forbidden("Ada\u{0}"));
        assert!(has_forbidden("Ada\u{1b}[31m"));
        assert!(has_forbidden("Ada\u{85}"));
        assert!(has_forbidden("Ada\u{7f}"));
        assert!(!has_forbidden("riga uno\r\nriga due\tcolonna"));
        assert!(!has_forbidden("Ngozi Okonkwo-Adébáyọ̀ 李"));
        assert_eq!(clean("A\u{0}d\u{7}a"), "Ada");
        assert!(json_may_hold_forbidden(br#"{"a":"\u0000"}"#));
        assert!(json_may_hold_forbidden("{\"a\":\"\u{85}\"}".as_bytes()));
        assert!(!json_may_hold_forbidden(br#"{"a":"plain"}"#));
    }
}
