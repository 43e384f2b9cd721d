//! Exact squares of decimal numbers: the accepted grammar, the length limit, and the canonical
//! form of a result.
//!
//! **Grammar** (after surrounding whitespace is removed): `[+-]? digit+ ( "." digit+ )?`, ASCII
//! digits only. So `12`, `-1.5`, `+007`, `0.000` and a 1000-digit integer are numbers; the empty
//! string, `abc`, `1e999999` (no exponents: the point is exactness, and an exponent would let a
//! nine-character line demand a million-digit answer), `NaN`, `inf`, `--3`, `+-3`, `1 000`,
//! `1,5`, `0x10`, `１２` (full-width digits), `.5` and `5.` are not. The last two are refused
//! on purpose, with a hint (`write 0.5`), because a bare `.` is more often a typo than a number.
//!
//! **Limit**: at most `max_digits` digits, counting every digit typed (integer and fraction
//! part, leading zeros included); more is `too_long`. The grammar is checked first, so
//! `abc...` of any length is `invalid_number`.
//!
//! **Canonical square**: no sign (a square is never negative; `-0` squares to `0`), no leading
//! zeros (`0.25`, not `.25`), no trailing zeros after the point and no point at all for a whole
//! number: `1.10² = 1.21`, `2.50² = 6.25`, `0.0² = 0`, `-0² = 0`, `007² = 49`.
//!
//! **How**: the digits without the point are an integer `m` and the number is `m / 10^f` with `f`
//! fraction digits, so its square is `m² / 10^(2f)`: one big-integer multiplication
//! ([`num_bigint::BigUint`]) and a decimal point put back — no floating point anywhere.

use num_bigint::BigUint;
use sockhub_i18n::{Msg, msg};
use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;

/// The largest `max_digits` the configuration accepts: the square of a 100 000-digit number
/// takes milliseconds, and stays well inside every database's text column.
pub const MAX_DIGITS_CEILING: usize = 100_000;

/// A number that matched the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal<'a> {
    pub negative: bool,
    /// The integer part's digits (at least one).
    pub int: &'a str,
    /// The fraction's digits (possibly none).
    pub frac: &'a str,
}

impl Decimal<'_> {
    /// How many digits the number has, as typed.
    pub fn digits(&self) -> usize {
        self.int.len() + self.frac.len()
    }
}

fn invalid(message: impl Into<Msg>) -> ErrorEvent {
    ErrorEvent::new(ErrorCode::InvalidNumber, message)
}

/// Quote at most the start of the user's input in an error message.
fn quoted(s: &str) -> String {
    match s.char_indices().nth(24) {
        Some((cut, _)) => format!("\"{}...\"", &s[..cut]),
        None => format!("{s:?}"),
    }
}

/// Match `input` (already trimmed) against the grammar.
pub fn parse(input: &str) -> Result<Decimal<'_>, ErrorEvent> {
    if input.is_empty() {
        return Err(invalid(msg!("calc-nothing-to-square")));
    }
    let (negative, body) = match input.as_bytes()[0] {
        b'-' => (true, &input[1..]),
        b'+' => (false, &input[1..]),
        _ => (false, input),
    };
    let (int, frac) = match body.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (body, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ok = !int.is_empty() && all_digits(int) && frac.is_none_or(|f| !f.is_empty() && all_digits(f));
    if ok {
        return Ok(Decimal { negative, int, frac: frac.unwrap_or("") });
    }
    // Not a number: say why as precisely as is cheap, so a student can fix it.
    let hint = if int.is_empty() && frac.is_some_and(|f| !f.is_empty() && all_digits(f)) {
        msg!("calc-hint-leading-point", frac = frac.unwrap_or(""))
    } else if frac == Some("") && !int.is_empty() && all_digits(int) {
        msg!("calc-hint-trailing-point", int = int)
    } else if input.contains(['e', 'E']) && input.bytes().any(|b| b.is_ascii_digit()) {
        msg!("calc-hint-exponent")
    } else if input.contains(',') {
        msg!("calc-hint-comma")
    } else if input.chars().any(char::is_whitespace) {
        msg!("calc-hint-spaces")
    } else {
        msg!("calc-hint-grammar")
    };
    Err(invalid(msg!("calc-not-a-number", input = quoted(input), hint = hint)))
}

/// The exact square of `input` (surrounding whitespace is ignored), in canonical form, or why
/// not: `invalid_number` or `too_long` (more than `max_digits` digits).
pub fn square(input: &str, max_digits: usize) -> Result<String, ErrorEvent> {
    let d = parse(input.trim())?;
    if d.digits() > max_digits {
        return Err(ErrorEvent::new(
            ErrorCode::TooLong,
            msg!("calc-too-many-digits", digits = d.digits(), max = max_digits),
        ));
    }
    Ok(square_of(&d))
}

/// The canonical square of a parsed number.
pub fn square_of(d: &Decimal<'_>) -> String {
    let mut digits = String::with_capacity(d.digits());
    digits.push_str(d.int);
    digits.push_str(d.frac);
    // Cannot fail: the grammar admitted ASCII digits only, at least one.
    let m = BigUint::parse_bytes(digits.as_bytes(), 10).unwrap_or_default();
    let squared = (&m * &m).to_str_radix(10);
    with_point(&squared, 2 * d.frac.len())
}

/// Put a decimal point `scale` digits from the right of the integer `digits` (no leading zeros,
/// or `"0"`), then drop trailing fraction zeros and a bare point.
fn with_point(digits: &str, scale: usize) -> String {
    if scale == 0 {
        return digits.to_owned();
    }
    let padded;
    let digits = if digits.len() <= scale {
        padded = format!("{}{digits}", "0".repeat(scale + 1 - digits.len()));
        &padded
    } else {
        digits
    };
    let (int, frac) = digits.split_at(digits.len() - scale);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { int.to_owned() } else { format!("{int}.{frac}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sq(s: &str) -> String {
        square(s, 1000).unwrap_or_else(|e| panic!("{s:?}: {}", e.message))
    }

    fn code(s: &str) -> ErrorCode {
        square(s, 1000).unwrap_err().code
    }

    #[test]
    fn examples_and_canonical_form() {
        for (input, expected) in [
            ("12", "144"),
            ("-1.5", "2.25"),
            ("+3", "9"),
            ("1.10", "1.21"),
            ("2.50", "6.25"),
            ("-0", "0"),
            ("0.000", "0"),
            ("007", "49"),
            ("0.1", "0.01"),
            ("-0.001", "0.000001"),
            ("10", "100"),
            ("10.0", "100"),
            (" 12 ", "144"),
            ("99999999999999999999", "9999999999999999999800000000000000000001"),
            ("123456789.987654321", "15241578994055784.200731595789971041"),
        ] {
            assert_eq!(sq(input), expected, "{input}");
        }
    }

    #[test]
    fn a_thousand_digits_exactly() {
        let nines = "9".repeat(1000);
        // (10^n - 1)^2 = 10^2n - 2*10^n + 1 = 9..9 8 0..0 1
        assert_eq!(sq(&nines), format!("{}8{}1", "9".repeat(999), "0".repeat(999)));
        assert_eq!(code(&"9".repeat(1001)), ErrorCode::TooLong);
        assert_eq!(code(&format!("{}.5", "9".repeat(1000))), ErrorCode::TooLong, "fraction digits count");
        assert_eq!(code(&format!("-{}", "0".repeat(1001))), ErrorCode::TooLong, "leading zeros count");
        assert_eq!(square("12345", 4).unwrap_err().code, ErrorCode::TooLong);
    }

    #[test]
    fn everything_else_is_invalid_number() {
        for bad in [
            "", "   ", "abc", "1e999999", "1E5", "NaN", "nan", "inf", "-inf", "Infinity", "--3", "+-3",
            "-+3", "-", "+", ".", ".5", "5.", "1.2.3", "1 000", "1,5", "0x10", "１２", "12a", "½", "- 3",
            "3-", "1_000", "٣",
        ] {
            assert_eq!(code(bad), ErrorCode::InvalidNumber, "{bad:?}");
        }
        let e = square(".5", 1000).unwrap_err().message;
        assert!(e.contains("write 0.5"), "{e}");
        let e = square("5.", 1000).unwrap_err().message;
        assert!(e.contains("write 5 or 5.0"), "{e}");
        let e = square("1e999999", 1000).unwrap_err().message;
        assert!(e.contains("exponents"), "{e}");
        let e = square(&"x".repeat(5000), 1000).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidNumber, "the grammar is checked before the length");
        assert!(e.message.len() < 200, "the message quotes only the start: {}", e.message);
    }

    /// Independent reference for numbers that fit: integer arithmetic on the scaled value, and
    /// the decimal point placed by formatting with a fixed width.
    fn reference_small(int: u64, frac: &str) -> String {
        let f = frac.len() as u32;
        let scaled = u128::from(int) * 10u128.pow(f) + frac.parse::<u128>().unwrap_or(0);
        let sq = scaled * scaled;
        let unit = 10u128.pow(2 * f);
        let (whole, rest) = (sq / unit, sq % unit);
        let rest = format!("{rest:0width$}", width = (2 * f) as usize);
        let rest = rest.trim_end_matches('0');
        if rest.is_empty() { whole.to_string() } else { format!("{whole}.{rest}") }
    }

    /// Independent reference for any size: schoolbook multiplication of the digit strings.
    fn schoolbook_square(digits: &str) -> Vec<u8> {
        let d: Vec<u32> = digits.bytes().rev().map(|b| u32::from(b - b'0')).collect();
        let mut acc = vec![0u32; d.len() * 2 + 1];
        for (i, a) in d.iter().enumerate() {
            for (j, b) in d.iter().enumerate() {
                acc[i + j] += a * b;
            }
            // Carry as we go so no cell overflows.
            for k in 0..acc.len() - 1 {
                acc[k + 1] += acc[k] / 10;
                acc[k] %= 10;
            }
        }
        acc.iter().rev().map(|&x| x as u8).collect()
    }

    proptest! {
        #[test]
        fn matches_integer_arithmetic_for_small_numbers(
            neg in any::<bool>(), int in 0u64..1_000_000_000, frac in "[0-9]{0,8}",
        ) {
            let input = format!("{}{int}{}{frac}", if neg { "-" } else { "" }, if frac.is_empty() { "" } else { "." });
            prop_assert_eq!(sq(&input), reference_small(int, &frac));
        }

        #[test]
        fn matches_schoolbook_multiplication_for_big_numbers(
            neg in any::<bool>(), int in "[0-9]{1,120}", frac in "[0-9]{0,60}",
        ) {
            let input = format!("{}{int}{}{frac}", if neg { "-" } else { "" }, if frac.is_empty() { "" } else { "." });
            let got = sq(&input);
            // Read the canonical answer back as digits and scale, and compare it with the
            // reference (whose scale is exactly twice the fraction length) after padding.
            let (g_int, g_frac) = got.split_once('.').unwrap_or((&got, ""));
            prop_assert!(!g_frac.ends_with('0'), "no trailing zeros: {}", got);
            prop_assert!(g_int == "0" || !g_int.starts_with('0'), "no leading zeros: {}", got);
            let scale = 2 * frac.len();
            prop_assert!(g_frac.len() <= scale);
            let mut got_digits: Vec<u8> = format!("{g_int}{g_frac}{}", "0".repeat(scale - g_frac.len()))
                .bytes().map(|b| b - b'0').collect();
            let mut want = schoolbook_square(&format!("{int}{frac}"));
            let strip = |v: &mut Vec<u8>| { let z = v.iter().take_while(|&&x| x == 0).count(); v.drain(..z); };
            strip(&mut got_digits);
            strip(&mut want);
            prop_assert_eq!(got_digits, want);
        }

        #[test]
        fn sign_and_trailing_zeros_do_not_matter(int in "[0-9]{1,30}", frac in "[0-9]{1,20}", zeros in 0usize..5) {
            let x = format!("{int}.{frac}");
            prop_assert_eq!(sq(&x), sq(&format!("-{x}")));
            prop_assert_eq!(sq(&x), sq(&format!("+{x}{}", "0".repeat(zeros))));
            prop_assert_eq!(sq(&x), sq(&format!("000{x}")));
        }

        #[test]
        fn anything_with_another_character_is_refused(s in "[0-9.+-]{0,6}[^0-9.+\\-\\s][0-9.+-]{0,6}") {
            prop_assert_eq!(code(&s), ErrorCode::InvalidNumber);
        }
    }
}
