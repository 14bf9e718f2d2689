//! Conditions on the machine's state, for `until COND` and `rewind replay --until COND`: comparisons of the pc, a
//! register or a value in memory with a number, a symbol or another of those, joined by `and`/`or` (`&&`/`||`)
//! with parentheses. `pc == start_kernel`, `a0 != 0 && pc == 0x80200000`, `*(u32 *)&jiffies > 100`,
//! `*(i8 *)0x80001000 < 0`. Symbols and addresses are resolved when the condition is parsed.
//!
//! A condition also says what can make it change, so the search for the first instruction where it holds can
//! run the machine at full speed between those moments: a breakpoint for each `pc == X`, a write watchpoint for
//! each value in memory. Any other use of the pc, or of a register, makes every instruction such a moment.

use std::fmt;

/// A parsed condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    Compare(Value, Cmp, Value),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
}

/// One side of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    Pc,
    /// Integer register `x0..x31`.
    Register(usize),
    /// `size` bytes at virtual address `addr`, signed or not.
    Memory {
        addr: u64,
        size: u8,
        signed: bool,
    },
    /// A number (negative ones compare signed).
    Number {
        value: u64,
        signed: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// What a condition reads from the machine.
pub trait State {
    fn pc(&self) -> u64;
    fn register(&self, index: usize) -> u64;
    /// `size` bytes at virtual address `addr`, little-endian; `None` if they cannot be read.
    fn memory(&self, addr: u64, size: u8) -> Option<u64>;
}

impl Condition {
    /// Parses `text`; `resolve` turns a symbol (with an optional `+offset`) into its address.
    pub fn parse(text: &str, resolve: &dyn Fn(&str) -> Result<u64, String>) -> Result<Condition, String> {
        let tokens = tokenize(text)?;
        let mut p = Parser { tokens, at: 0, resolve };
        let cond = p.or()?;
        match p.peek() {
            None => Ok(cond),
            Some(t) => Err(format!("unexpected '{t}' in condition '{text}'")),
        }
    }

    /// Whether the condition holds in `state`. A comparison with memory that cannot be read is false.
    pub fn holds(&self, state: &dyn State) -> bool {
        match self {
            Condition::And(a, b) => a.holds(state) && b.holds(state),
            Condition::Or(a, b) => a.holds(state) || b.holds(state),
            Condition::Compare(a, cmp, b) => {
                let (Some((a, a_signed)), Some((b, b_signed))) = (a.read(state), b.read(state)) else {
                    return false;
                };
                let ordering = if a_signed || b_signed { (a as i64).cmp(&(b as i64)) } else { a.cmp(&b) };
                use std::cmp::Ordering::*;
                match cmp {
                    Cmp::Eq => ordering == Equal,
                    Cmp::Ne => ordering != Equal,
                    Cmp::Lt => ordering == Less,
                    Cmp::Le => ordering != Greater,
                    Cmp::Gt => ordering == Greater,
                    Cmp::Ge => ordering != Less,
                }
            }
        }
    }

    fn comparisons(&self) -> Vec<(Value, Cmp, Value)> {
        match self {
            Condition::Compare(a, cmp, b) => vec![(*a, *cmp, *b)],
            Condition::And(a, b) | Condition::Or(a, b) => {
                let mut v = a.comparisons();
                v.extend(b.comparisons());
                v
            }
        }
    }

    /// The moments the condition can change at, or `None` if any instruction can change it (it reads a register,
    /// or compares the pc other than for equality with a number).
    pub fn triggers(&self) -> Option<Triggers> {
        let mut t = Triggers::default();
        for (a, cmp, b) in self.comparisons() {
            for (side, other) in [(a, b), (b, a)] {
                match side {
                    Value::Register(_) => return None,
                    Value::Pc => match (cmp, other) {
                        (Cmp::Eq, Value::Number { value, .. }) => t.pcs.push(value),
                        _ => return None,
                    },
                    Value::Memory { addr, size, .. } => t.writes.push((addr, u64::from(size))),
                    Value::Number { .. } => {}
                }
            }
        }
        Some(t)
    }
}

/// Where a condition's value can change: before executing one of `pcs`, after a write to one of `writes`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Triggers {
    pub pcs: Vec<u64>,
    /// (address, length) ranges.
    pub writes: Vec<(u64, u64)>,
}

impl Value {
    fn read(&self, state: &dyn State) -> Option<(u64, bool)> {
        match *self {
            Value::Pc => Some((state.pc(), false)),
            Value::Register(i) => Some((state.register(i), false)),
            Value::Number { value, signed } => Some((value, signed)),
            Value::Memory { addr, size, signed } => {
                let raw = state.memory(addr, size)?;
                let shift = 64 - 8 * u32::from(size);
                Some(if signed { (((raw << shift) as i64 >> shift) as u64, true) } else { (raw, false) })
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Number(u64, bool),
    Op(&'static str),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(w) => write!(f, "{w}"),
            Token::Number(n, false) => write!(f, "{n:#x}"),
            Token::Number(n, true) => write!(f, "{}", *n as i64),
            Token::Op(o) => write!(f, "{o}"),
        }
    }
}

const OPERATORS: [&str; 13] = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "(", ")", "*", "&", "+"];

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        if let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(**op)) {
            tokens.push(Token::Op(op));
            rest = &rest[op.len()..];
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$' | '-')))
                .unwrap_or(rest.len());
            if end == 0 {
                return Err(format!("unexpected '{}' in condition '{text}'", rest.chars().next().unwrap_or(' ')));
            }
            let word = &rest[..end];
            tokens.push(match number(word) {
                Some((n, signed)) => Token::Number(n, signed),
                None if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') => {
                    return Err(format!("invalid number '{word}' in condition '{text}'"))
                }
                None => Token::Word(word.to_string()),
            });
            rest = &rest[end..];
        }
        rest = rest.trim_start();
    }
    Ok(tokens)
}

/// A decimal or `0x` hexadecimal number, possibly negative (then signed); `_` separates digits.
fn number(word: &str) -> Option<(u64, bool)> {
    let (negative, digits) = match word.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, word),
    };
    let digits = digits.replace('_', "");
    let magnitude = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => digits.parse().ok()?,
    };
    Some(if negative { ((magnitude as i64).wrapping_neg() as u64, true) } else { (magnitude, false) })
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    resolve: &'a dyn Fn(&str) -> Result<u64, String>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn eat(&mut self, op: &str) -> bool {
        let matched = match self.peek() {
            Some(Token::Op(o)) => *o == op,
            Some(Token::Word(w)) => (op == "&&" && w == "and") || (op == "||" && w == "or"),
            _ => false,
        };
        if matched {
            self.at += 1;
        }
        matched
    }

    fn expect(&mut self, op: &str) -> Result<(), String> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(match self.peek() {
                Some(t) => format!("expected '{op}', found '{t}'"),
                None => format!("expected '{op}' at the end of the condition"),
            })
        }
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut cond = self.and()?;
        while self.eat("||") {
            cond = Condition::Or(Box::new(cond), Box::new(self.and()?));
        }
        Ok(cond)
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut cond = self.atom()?;
        while self.eat("&&") {
            cond = Condition::And(Box::new(cond), Box::new(self.atom()?));
        }
        Ok(cond)
    }

    fn atom(&mut self) -> Result<Condition, String> {
        if self.eat("(") {
            let cond = self.or()?;
            self.expect(")")?;
            return Ok(cond);
        }
        let a = self.value()?;
        let cmp = match self.next() {
            Some(Token::Op("==")) => Cmp::Eq,
            Some(Token::Op("!=")) => Cmp::Ne,
            Some(Token::Op("<")) => Cmp::Lt,
            Some(Token::Op("<=")) => Cmp::Le,
            Some(Token::Op(">")) => Cmp::Gt,
            Some(Token::Op(">=")) => Cmp::Ge,
            Some(t) => return Err(format!("expected a comparison (== != < <= > >=), found '{t}'")),
            None => return Err("expected a comparison (== != < <= > >=) at the end of the condition".into()),
        };
        Ok(Condition::Compare(a, cmp, self.value()?))
    }

    /// `*(TYPE *)ADDRESS`, `pc`, a register, a number or a symbol (its address).
    fn value(&mut self) -> Result<Value, String> {
        if self.eat("*") {
            self.expect("(")?;
            let ty = match self.next() {
                Some(Token::Word(w)) => w,
                _ => return Err("expected a type (u8 u16 u32 u64 i8 i16 i32 i64) after '*('".into()),
            };
            let (signed, bits) = match ty.split_at(1) {
                ("u", bits) => (false, bits),
                ("i", bits) => (true, bits),
                _ => return Err(format!("unknown type '{ty}': u8 u16 u32 u64 i8 i16 i32 i64")),
            };
            let size = match bits {
                "8" => 1,
                "16" => 2,
                "32" => 4,
                "64" => 8,
                _ => return Err(format!("unknown type '{ty}': u8 u16 u32 u64 i8 i16 i32 i64")),
            };
            self.expect("*")?;
            self.expect(")")?;
            self.eat("&");
            let addr = match self.value()? {
                Value::Number { value, .. } => value,
                _ => return Err("expected an address (a number or a symbol) after the type".into()),
            };
            return Ok(Value::Memory { addr, size, signed });
        }
        match self.next() {
            Some(Token::Number(value, signed)) => Ok(Value::Number { value, signed }),
            Some(Token::Word(w)) => self.word(&w),
            Some(t) => Err(format!("expected a value, found '{t}'")),
            None => Err("expected a value at the end of the condition".into()),
        }
    }

    fn word(&mut self, word: &str) -> Result<Value, String> {
        let name = word.strip_prefix('$').unwrap_or(word);
        if name == "pc" {
            return Ok(Value::Pc);
        }
        let names = rewind::arch::riscv::regs::X_NAMES;
        if let Some(i) = names.iter().position(|n| *n == name).or_else(|| name.strip_prefix('x')?.parse().ok()) {
            if i < 32 {
                return Ok(Value::Register(i));
            }
        }
        let mut symbol = word.to_string();
        if self.eat("+") {
            match self.next() {
                Some(Token::Number(n, false)) => symbol = format!("{word}+{n:#x}"),
                _ => return Err(format!("expected an offset after '{word}+'")),
            }
        }
        Ok(Value::Number { value: (self.resolve)(&symbol)?, signed: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        pc: u64,
        x: [u64; 32],
        mem: Vec<(u64, u64)>,
    }

    impl State for Fake {
        fn pc(&self) -> u64 {
            self.pc
        }
        fn register(&self, i: usize) -> u64 {
            self.x[i]
        }
        fn memory(&self, addr: u64, size: u8) -> Option<u64> {
            let mask = if size == 8 { u64::MAX } else { (1 << (8 * size)) - 1 };
            self.mem.iter().find(|(a, _)| *a == addr).map(|(_, v)| v & mask)
        }
    }

    fn resolve(name: &str) -> Result<u64, String> {
        match name.split_once('+') {
            Some(("jiffies", off)) => Ok(0x1000 + u64::from_str_radix(off.trim_start_matches("0x"), 16).unwrap()),
            None if name == "jiffies" => Ok(0x1000),
            None if name == "start_kernel" => Ok(0x8020_0000),
            _ => Err(format!("no symbol '{name}'")),
        }
    }

    fn parse(text: &str) -> Condition {
        Condition::parse(text, &resolve).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn comparisons_of_pc_registers_memory_and_symbols() {
        let mut s = Fake { pc: 0x8020_0000, x: [0; 32], mem: vec![(0x1000, 0xff_0000_0065), (0x1008, 0x80)] };
        s.x[10] = 7;
        assert!(parse("pc == start_kernel").holds(&s));
        assert!(parse("$pc == 0x80200000").holds(&s));
        assert!(parse("a0 == 7 and x10 >= 7 && $a0 < 8").holds(&s));
        assert!(!parse("a0 != 7 || a1 > 0").holds(&s));
        assert!(parse("*(u32 *)&jiffies > 100").holds(&s), "only the low 4 bytes count");
        assert!(parse("*(u64 *)jiffies > 0xffffffff").holds(&s));
        assert!(parse("*(i8 *)&jiffies+8 < 0").holds(&s), "0x80 as i8 is negative");
        assert!(parse("*(u8 *)0x1008 == 128").holds(&s));
        assert!(parse("a0 > -1").holds(&s), "against a negative number the comparison is signed");
        assert!(!parse("a0 > 0xffffffffffffffff").holds(&s), "against a positive one it is not");
        assert!(!parse("*(u32 *)0x2000 == 0").holds(&s), "unreadable memory makes the comparison false");
        assert!(parse("(a0 == 1 || a0 == 7) && pc == start_kernel").holds(&s));
    }

    #[test]
    fn what_can_change_a_condition() {
        let t = parse("pc == start_kernel && *(u32 *)&jiffies > 100").triggers().unwrap();
        assert_eq!(t, Triggers { pcs: vec![0x8020_0000], writes: vec![(0x1000, 4)] });
        assert_eq!(parse("a0 == 1").triggers(), None);
        assert_eq!(parse("pc > 0x1000").triggers(), None);
    }

    #[test]
    fn bad_conditions_say_what_is_wrong() {
        for (text, expected) in [
            ("pc ==", "expected a value at the end"),
            ("pc = 1", "unexpected '='"),
            ("pc == nosuch", "no symbol 'nosuch'"),
            ("*(u24 *)0x10 == 1", "unknown type 'u24'"),
            ("(pc == 1", "expected ')'"),
            ("pc == 1 pc", "unexpected 'pc'"),
            ("pc 1", "expected a comparison"),
            ("pc == 12ab", "invalid number '12ab'"),
        ] {
            let error = Condition::parse(text, &resolve).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
