//! spray-json 1.3.5 `CompactPrinter`: no whitespace, minimal string escaping, and numbers as
//! `java.math.BigDecimal.toString` renders them.

use serde_json::Value;

/// Renders `v` exactly as spray-json's compact printer would; object members are written in
/// the order they are stored (see `order` for how writers choose it).
pub fn compact(v: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_compact(&mut out, v);
    out
}

/// Appends the compact rendering of `v` to `out`.
pub fn write_compact(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => push_number(out, n.as_str()),
        Value::String(s) => push_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_compact(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_string(out, k);
                out.push(':');
                write_compact(out, item);
            }
            out.push('}');
        }
    }
}

fn push_number(out: &mut String, text: &str) {
    if is_plain_integer(text) {
        out.push_str(text);
    } else {
        out.push_str(&java_decimal(text));
    }
}

fn is_plain_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && text != "-0"
}

/// Only `"`, `\` and control characters below U+0020 are escaped; everything else, including
/// `/`, DEL and non-ASCII text, is written raw.
pub fn push_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// `new java.math.BigDecimal(text).toString()` for a JSON number literal: the unscaled digits
/// and scale are kept, and scientific notation is used when the scale is negative or the
/// adjusted exponent is below -6. A literal whose exponent does not fit Java's `int` (which
/// spray-json would not have parsed) is returned unchanged.
pub fn java_decimal(text: &str) -> String {
    let Some(parsed) = DecimalLiteral::parse(text) else {
        return text.to_owned();
    };
    parsed.to_java_string()
}

struct DecimalLiteral {
    negative: bool,
    coefficient: String,
    scale: i64,
}

impl DecimalLiteral {
    fn parse(text: &str) -> Option<Self> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i32>().ok()?),
            None => (rest, 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits: String = int_part.chars().chain(frac_part.chars()).collect();
        let trimmed = digits.trim_start_matches('0');
        let coefficient = if trimmed.is_empty() {
            "0".to_owned()
        } else {
            trimmed.to_owned()
        };
        let scale = frac_part.len() as i64 - i64::from(exponent);
        if i32::try_from(scale).is_err() {
            return None;
        }
        let negative = negative && coefficient != "0";
        Some(Self {
            negative,
            coefficient,
            scale,
        })
    }

    fn to_java_string(&self) -> String {
        let mut out = String::new();
        if self.negative {
            out.push('-');
        }
        let n = self.coefficient.len() as i64;
        let adjusted = -self.scale + (n - 1);
        if self.scale == 0 {
            out.push_str(&self.coefficient);
        } else if self.scale > 0 && adjusted >= -6 {
            let point = n - self.scale;
            if point > 0 {
                let (a, b) = self.coefficient.split_at(point as usize);
                out.push_str(a);
                out.push('.');
                out.push_str(b);
            } else {
                out.push_str("0.");
                out.extend(std::iter::repeat_n('0', (-point) as usize));
                out.push_str(&self.coefficient);
            }
        } else {
            let (first, rest) = self.coefficient.split_at(1);
            out.push_str(first);
            if !rest.is_empty() {
                out.push('.');
                out.push_str(rest);
            }
            out.push('E');
            if adjusted > 0 {
                out.push('+');
            }
            out.push_str(&adjusted.to_string());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_render_like_java_big_decimal() {
        for (input, expected) in [
            ("0", "0"),
            ("-0", "0"),
            ("123", "123"),
            ("-17", "-17"),
            ("1.50", "1.50"),
            ("1e10", "1E+10"),
            ("1.5E3", "1.5E+3"),
            ("12e-1", "1.2"),
            ("0.0000001", "1E-7"),
            ("0.000001", "0.000001"),
            ("0.00", "0.00"),
            ("-0.0", "0.0"),
            ("0e5", "0E+5"),
            ("123.456e-10", "1.23456E-8"),
        ] {
            let rendered = compact(&serde_json::from_str::<Value>(input).expect(input));
            assert_eq!(rendered, expected, "input {input}");
        }
    }

    #[test]
    fn strings_escape_only_what_spray_escapes() {
        let v = Value::String("a\"b\\c/\u{7f}\u{1f}\n\t\u{8}\u{c}\r\u{0}é\u{2028}".into());
        assert_eq!(
            compact(&v),
            "\"a\\\"b\\\\c/\u{7f}\\u001f\\n\\t\\b\\f\\r\\u0000é\u{2028}\""
        );
    }

    #[test]
    fn huge_exponent_is_kept_verbatim() {
        assert_eq!(java_decimal("1e99999999999"), "1e99999999999");
    }
}
