//! Quiz problems (shared by the server, which asks them, and the bot client, which answers
//! them): three integers in 1..=100 and two operators, with normal precedence.
//!
//! The answer is what the original projects computed: the expression evaluated in
//! double-precision floating point, in precedence order, then **truncated toward zero**
//! ([`Problem::answer`]). Floating point and exact arithmetic sometimes disagree after truncation
//! (`1 / 49 * 49` is exactly 1, but `1.0 / 49.0 * 49.0` is 0.999..., which truncates to 0); a
//! player who reasons exactly would be marked wrong, so such problems are never asked:
//! [`Problem::random`] draws until [`Problem::is_fair`]. The exact value is a fraction of
//! `i128`s ([`Ratio`]): with operands of at most 100 every intermediate fits easily.

use rand::Rng;

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::Add, Op::Sub, Op::Mul, Op::Div];

    pub fn symbol(self) -> char {
        match self {
            Op::Add => '+',
            Op::Sub => '-',
            Op::Mul => '*',
            Op::Div => '/',
        }
    }

    /// `*` and `/` bind tighter than `+` and `-`.
    fn binds_tighter(self) -> bool {
        matches!(self, Op::Mul | Op::Div)
    }

    fn float(self, x: f64, y: f64) -> f64 {
        match self {
            Op::Add => x + y,
            Op::Sub => x - y,
            Op::Mul => x * y,
            Op::Div => x / y,
        }
    }

    fn exact(self, x: Ratio, y: Ratio) -> Ratio {
        match self {
            Op::Add => Ratio::new(x.num * y.den + y.num * x.den, x.den * y.den),
            Op::Sub => Ratio::new(x.num * y.den - y.num * x.den, x.den * y.den),
            Op::Mul => Ratio::new(x.num * y.num, x.den * y.den),
            Op::Div => Ratio::new(x.num * y.den, x.den * y.num),
        }
    }
}

/// An exact fraction, denominator positive (not necessarily reduced: only its truncation is used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    pub num: i128,
    pub den: i128,
}

impl Ratio {
    fn new(num: i128, den: i128) -> Ratio {
        debug_assert!(den != 0, "operands are at least 1, so no division by zero");
        if den < 0 { Ratio { num: -num, den: -den } } else { Ratio { num, den } }
    }

    fn int(n: i64) -> Ratio {
        Ratio { num: n.into(), den: 1 }
    }

    /// Truncated toward zero (Rust's integer division does exactly that).
    pub fn trunc(self) -> i128 {
        self.num / self.den
    }
}

/// `a op1 b op2 c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem {
    pub a: i64,
    pub op1: Op,
    pub b: i64,
    pub op2: Op,
    pub c: i64,
}

/// The smallest and largest operand.
pub const OPERANDS: std::ops::RangeInclusive<i64> = 1..=100;

impl Problem {
    pub fn new(a: i64, op1: Op, b: i64, op2: Op, c: i64) -> Problem {
        Problem { a, op1, b, op2, c }
    }

    /// Whether `b op2 c` is evaluated first (a tighter second operator after a looser first one).
    fn right_first(&self) -> bool {
        self.op2.binds_tighter() && !self.op1.binds_tighter()
    }

    /// The value in double precision, evaluated in precedence order (left to right among equals).
    pub fn float_value(&self) -> f64 {
        let (a, b, c) = (self.a as f64, self.b as f64, self.c as f64);
        if self.right_first() {
            self.op1.float(a, self.op2.float(b, c))
        } else {
            self.op2.float(self.op1.float(a, b), c)
        }
    }

    /// The answer: [`Problem::float_value`] truncated toward zero. An `i64` has no negative zero,
    /// so `-0.4` becomes `0`, never `-0`.
    pub fn answer(&self) -> i64 {
        self.float_value().trunc() as i64
    }

    /// The exact value.
    pub fn exact(&self) -> Ratio {
        let (a, b, c) = (Ratio::int(self.a), Ratio::int(self.b), Ratio::int(self.c));
        if self.right_first() {
            self.op1.exact(a, self.op2.exact(b, c))
        } else {
            self.op2.exact(self.op1.exact(a, b), c)
        }
    }

    /// True when exact arithmetic, truncated, gives the same answer as floating point.
    pub fn is_fair(&self) -> bool {
        self.exact().trunc() == i128::from(self.answer())
    }

    /// Any problem, fair or not.
    pub fn any(rng: &mut impl Rng) -> Problem {
        let a = rng.random_range(OPERANDS);
        let op1 = Op::ALL[rng.random_range(0..4)];
        let b = rng.random_range(OPERANDS);
        let op2 = Op::ALL[rng.random_range(0..4)];
        let c = rng.random_range(OPERANDS);
        Problem { a, op1, b, op2, c }
    }

    /// A random fair problem (about 1 draw in 200 is unfair and drawn again).
    pub fn random(rng: &mut impl Rng) -> Problem {
        loop {
            let p = Problem::any(rng);
            if p.is_fair() {
                return p;
            }
        }
    }

    /// Read a problem as shown (`38 - 94 / 84`); `None` if it is not one.
    pub fn parse(text: &str) -> Option<Problem> {
        let t: Vec<&str> = text.split_whitespace().collect();
        let [a, op1, b, op2, c] = t[..] else { return None };
        let op = |s: &str| Op::ALL.into_iter().find(|o| s.len() == 1 && s.starts_with(o.symbol()));
        Some(Problem {
            a: a.parse().ok()?,
            op1: op(op1)?,
            b: b.parse().ok()?,
            op2: op(op2)?,
            c: c.parse().ok()?,
        })
    }

    /// As shown to players: `38 - 94 / 84`.
    pub fn text(&self) -> String {
        format!("{} {} {} {} {}", self.a, self.op1.symbol(), self.b, self.op2.symbol(), self.c)
    }
}

/// A player's answer as a number: an optional sign and decimal digits, surrounding spaces
/// ignored. Anything else (`36.0`, `abc`, an empty line, a number beyond `i64`) is invalid input.
pub fn parse_answer(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn op(c: char) -> Op {
        Op::ALL.into_iter().find(|o| o.symbol() == c).unwrap()
    }

    fn p(text: &str) -> Problem {
        let t: Vec<&str> = text.split(' ').collect();
        let n = |s: &str| s.parse().unwrap();
        Problem::new(
            n(t[0]),
            op(t[1].chars().next().unwrap()),
            n(t[2]),
            op(t[3].chars().next().unwrap()),
            n(t[4]),
        )
    }

    /// Pinned cases: precedence, negatives, truncation toward zero (not floor), division.
    #[test]
    fn table_of_known_answers() {
        let table: &[(&str, i64, bool)] = &[
            ("1 + 2 * 3", 7, true),
            ("1 * 2 + 3", 5, true),
            ("10 - 2 - 3", 5, true),   // left to right
            ("100 / 10 / 5", 2, true), // left to right
            ("2 * 3 * 4", 24, true),
            ("38 - 94 / 84", 36, true), // 38 - 1.119 = 36.88 -> 36
            ("1 - 100 * 100", -9999, true),
            ("1 - 50 / 3", -15, true), // -15.67 truncates toward zero to -15, not -16
            ("1 - 3 / 2", 0, true),    // -0.5 -> 0, never "-0"
            ("7 / 2 - 4", 0, true),    // -0.5 -> 0
            ("1 / 3 * 3", 1, true),    // 0.333.. * 3 is exactly 1.0 in binary
            ("1 / 49 * 49", 0, false), // float 0.999..: exact 1, so never asked
            ("100 / 7 + 1", 15, true),
            ("5 - 100 / 3", -28, true), // -28.33 -> -28
            ("99 * 100 * 100", 990_000, true),
            ("1 / 100 / 100", 0, true),
        ];
        for &(text, answer, fair) in table {
            let problem = p(text);
            assert_eq!(problem.text(), text);
            assert_eq!(problem.answer(), answer, "{text}");
            assert_eq!(problem.is_fair(), fair, "{text}");
            assert_eq!(problem.answer().to_string(), answer.to_string(), "{text} prints without -0");
        }
    }

    #[test]
    fn answers_are_whole_numbers() {
        for ok in ["36", "-36", "+4", " 7 ", "0", "-0"] {
            assert!(parse_answer(ok).is_some(), "{ok:?}");
        }
        assert_eq!(parse_answer("-0"), Some(0));
        for bad in ["", "abc", "36.0", "3 6", "--1", "1e3", "٣", "99999999999999999999", "-"] {
            assert_eq!(parse_answer(bad), None, "{bad:?}");
        }
    }

    /// An exact evaluator written independently of `Problem::exact`: everything over one common
    /// denominator, by case analysis of the two operators.
    fn exact_trunc(p: &Problem) -> Option<i128> {
        let (a, b, c) = (p.a as i128, p.b as i128, p.c as i128);
        // (n, d) pairs.
        let apply = |x: (i128, i128), o: Op, y: (i128, i128)| match o {
            Op::Add => (x.0 * y.1 + y.0 * x.1, x.1 * y.1),
            Op::Sub => (x.0 * y.1 - y.0 * x.1, x.1 * y.1),
            Op::Mul => (x.0 * y.0, x.1 * y.1),
            Op::Div => (x.0 * y.1, x.1 * y.0),
        };
        let tight = |o: Op| o == Op::Mul || o == Op::Div;
        let (n, d) = if tight(p.op2) && !tight(p.op1) {
            apply((a, 1), p.op1, apply((b, 1), p.op2, (c, 1)))
        } else {
            apply(apply((a, 1), p.op1, (b, 1)), p.op2, (c, 1))
        };
        // Truncate toward zero by hand, without relying on the sign of `d`.
        let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
        let q = n.abs() / d;
        Some(if n < 0 { -q } else { q })
    }

    fn arb_op() -> impl Strategy<Value = Op> {
        prop_oneof![Just(Op::Add), Just(Op::Sub), Just(Op::Mul), Just(Op::Div)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// For every problem: "fair" means exactly that the independent exact evaluation and the
        /// floating-point answer agree.
        #[test]
        fn fairness_matches_exact_arithmetic(a in OPERANDS, b in OPERANDS, c in OPERANDS, op1 in arb_op(), op2 in arb_op()) {
            let problem = Problem::new(a, op1, b, op2, c);
            let exact = exact_trunc(&problem).unwrap();
            prop_assert_eq!(problem.exact().trunc(), exact);
            prop_assert_eq!(problem.is_fair(), exact == i128::from(problem.answer()));
        }

        /// The generator, from any seed, only asks problems whose float answer is the exact one,
        /// with operands in range.
        #[test]
        fn the_generator_asks_only_fair_problems(seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            for _ in 0..50 {
                let problem = Problem::random(&mut rng);
                for n in [problem.a, problem.b, problem.c] {
                    prop_assert!(OPERANDS.contains(&n));
                }
                prop_assert_eq!(exact_trunc(&problem).unwrap(), i128::from(problem.answer()), "{}", problem.text());
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_problems() {
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..20).map(|_| Problem::random(&mut rng).text()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    /// Unfair problems exist (so the filter matters) and are rare.
    #[test]
    fn unfair_problems_exist_and_are_rare() {
        let mut unfair = 0;
        let mut total = 0;
        for a in OPERANDS.step_by(3) {
            for b in OPERANDS {
                for c in OPERANDS.step_by(7) {
                    for op1 in Op::ALL {
                        for op2 in Op::ALL {
                            total += 1;
                            unfair += usize::from(!Problem::new(a, op1, b, op2, c).is_fair());
                        }
                    }
                }
            }
        }
        assert!(unfair > 0 && unfair * 50 < total, "{unfair} of {total}");
    }
}
