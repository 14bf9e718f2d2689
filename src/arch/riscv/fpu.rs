//! RISC-V F/D and Zfh floating-point arithmetic (unprivileged spec 20191213, chapters 11, 12 and 16).
//!
//! Everything is computed in software, bit-exact, with the exact RISC-V exception flags: every operation first
//! computes its exact result as `±m·2^e` (or an interval `(m, m+1)·2^e` when some low bits are known to be
//! non-zero, the "sticky" case), then a single function, [`round_pack`], rounds it to the destination format in
//! any of the five rounding modes, detecting tininess *after* rounding as RISC-V specifies. Any NaN result is
//! the canonical NaN. Single- and half-precision values live NaN-boxed in the 64-bit f registers.
//!
//! A fast path through the host's f32/f64 arithmetic is taken for add/sub/mul in round-to-nearest-even when the
//! operands and result are in a range where the host result and its flags are provably the same (see
//! [`fast_path`]).

/// Floating-point format of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FpFmt {
    S,
    D,
    /// Half precision (Zfh).
    H,
}

impl FpFmt {
    /// The format of the instructions' `fmt` field (0 S, 1 D, 2 H; 3, Q, is not implemented).
    pub fn from_field(field: u32) -> Option<FpFmt> {
        match field {
            0 => Some(FpFmt::S),
            1 => Some(FpFmt::D),
            2 => Some(FpFmt::H),
            _ => None,
        }
    }

    pub fn field(self) -> u32 {
        match self {
            FpFmt::S => 0,
            FpFmt::D => 1,
            FpFmt::H => 2,
        }
    }

    /// The mnemonics' suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            FpFmt::S => "s",
            FpFmt::D => "d",
            FpFmt::H => "h",
        }
    }

    fn bits(self) -> u32 {
        match self {
            FpFmt::S => 32,
            FpFmt::D => 64,
            FpFmt::H => 16,
        }
    }

    /// A value's size in memory.
    pub fn bytes(self) -> u8 {
        (self.bits() / 8) as u8
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FpOp {
    Add,
    Sub,
    Mul,
    Div,
    Sqrt,
    Min,
    Max,
    SgnJ,
    SgnJN,
    SgnJX,
    /// fmadd: a*b+c
    MAdd,
    /// fmsub: a*b-c
    MSub,
    /// fnmsub: -(a*b)+c
    NMSub,
    /// fnmadd: -(a*b)-c
    NMAdd,
    Eq,
    Lt,
    Le,
    Class,
    /// fcvt.w.{s,d}
    CvtWFromF,
    /// fcvt.wu.{s,d}
    CvtWuFromF,
    /// fcvt.l.{s,d}
    CvtLFromF,
    /// fcvt.lu.{s,d}
    CvtLuFromF,
    /// fcvt.{s,d}.w
    CvtFromW,
    /// fcvt.{s,d}.wu
    CvtFromWu,
    /// fcvt.{s,d}.l
    CvtFromL,
    /// fcvt.{s,d}.lu
    CvtFromLu,
    /// fmv.x.w / fmv.x.h (sign-extend the low 32 or 16 bits) / fmv.x.d
    MvXFromF,
    /// fmv.w.x / fmv.h.x (NaN-box the low 32 or 16 bits) / fmv.d.x
    MvFFromX,
    /// fcvt.{fmt}.s: from single precision to the instruction's format.
    CvtFromS,
    /// fcvt.{fmt}.d
    CvtFromD,
    /// fcvt.{fmt}.h
    CvtFromH,
    // Zfa:
    /// fli.{fmt}: one of 32 constants, chosen by the rs1 field.
    Fli,
    /// fminm / fmaxm: fmin / fmax, but a NaN operand gives the canonical NaN.
    MinM,
    MaxM,
    /// fround / froundnx: round to an integer in the same format (froundnx also raises NX when inexact).
    Round,
    RoundNx,
    /// fcvtmod.w.d: the integer part modulo 2^32, sign-extended (what JavaScript's ToInt32 needs).
    CvtModWFromD,
    /// fltq / fleq: quiet comparisons (only a signaling NaN raises NV).
    LtQ,
    LeQ,
}

impl FpOp {
    /// The source format of a conversion between formats.
    pub fn conversion_source(self) -> Option<FpFmt> {
        match self {
            FpOp::CvtFromS => Some(FpFmt::S),
            FpOp::CvtFromD => Some(FpFmt::D),
            FpOp::CvtFromH => Some(FpFmt::H),
            _ => None,
        }
    }
}

/// Inexact.
pub const NX: u8 = 1;
/// Underflow.
pub const UF: u8 = 2;
/// Overflow.
pub const OF: u8 = 4;
/// Divide by zero.
pub const DZ: u8 = 8;
/// Invalid operation.
pub const NV: u8 = 16;

/// Rounding modes (the `rm` field encodings).
pub const RNE: u8 = 0;
pub const RTZ: u8 = 1;
pub const RDN: u8 = 2;
pub const RUP: u8 = 3;
#[cfg_attr(not(test), allow(dead_code))] // the decoder passes it on as any other mode
pub const RMM: u8 = 4;

/// True when `op`'s first source is an integer (x) register.
pub fn int_source(op: FpOp) -> bool {
    use FpOp::*;
    matches!(op, CvtFromW | CvtFromWu | CvtFromL | CvtFromLu | MvFFromX)
}

/// True when `op` writes an integer (x) register.
pub fn is_dest_int(op: FpOp) -> bool {
    matches!(
        op,
        FpOp::Eq
            | FpOp::Lt
            | FpOp::Le
            | FpOp::Class
            | FpOp::CvtWFromF
            | FpOp::CvtWuFromF
            | FpOp::CvtLFromF
            | FpOp::CvtLuFromF
            | FpOp::MvXFromF
            | FpOp::CvtModWFromD
            | FpOp::LtQ
            | FpOp::LeQ
    )
}

/// The operations of Zfa.
pub fn is_zfa(op: FpOp) -> bool {
    use FpOp::*;
    matches!(op, Fli | MinM | MaxM | Round | RoundNx | CvtModWFromD | LtQ | LeQ)
}

// ---------------------------------------------------------------------------------------------------------------
// Format parameters, boxing, unpacking

#[derive(Clone, Copy)]
struct Params {
    /// Fraction bits (precision - 1).
    frac: u32,
    /// Exponent bits.
    exp: u32,
}

impl Params {
    const fn of(fmt: FpFmt) -> Params {
        match fmt {
            FpFmt::S => Params { frac: 23, exp: 8 },
            FpFmt::D => Params { frac: 52, exp: 11 },
            FpFmt::H => Params { frac: 10, exp: 5 },
        }
    }
    const fn bias(self) -> i32 {
        (1 << (self.exp - 1)) - 1
    }
    /// Smallest normal exponent.
    const fn emin(self) -> i32 {
        1 - self.bias()
    }
    const fn exp_max_field(self) -> u64 {
        (1 << self.exp) - 1
    }
    const fn sign_bit(self) -> u64 {
        1 << (self.frac + self.exp)
    }
    const fn inf(self, sign: bool) -> u64 {
        (if sign { self.sign_bit() } else { 0 }) | (self.exp_max_field() << self.frac)
    }
    const fn max_finite(self, sign: bool) -> u64 {
        self.inf(sign) - 1
    }
    const fn zero(self, sign: bool) -> u64 {
        if sign {
            self.sign_bit()
        } else {
            0
        }
    }
    const fn canonical_nan(self) -> u64 {
        (self.exp_max_field() << self.frac) | (1 << (self.frac - 1))
    }
}

const BOX: u64 = 0xffff_ffff_0000_0000;

/// The bits above a `fmt` value in its f register: all ones when it is properly NaN-boxed.
const fn box_bits(fmt: FpFmt) -> u64 {
    match fmt {
        FpFmt::D => 0,
        FpFmt::S => BOX,
        FpFmt::H => 0xffff_ffff_ffff_0000,
    }
}

/// Extracts the `fmt` value from a 64-bit f register: an improperly NaN-boxed single or half is the canonical
/// NaN.
fn unbox(fmt: FpFmt, reg: u64) -> u64 {
    let high = box_bits(fmt);
    if reg & high == high {
        reg & !high
    } else {
        Params::of(fmt).canonical_nan()
    }
}

/// Makes the 64-bit f register value of a `fmt` value (NaN-boxing singles and halves).
pub(crate) fn boxed(fmt: FpFmt, bits: u64) -> u64 {
    let high = box_bits(fmt);
    high | (bits & !high)
}

/// An unpacked floating-point value. `Fin` is `(-1)^sign · m · 2^e` with `m != 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Val {
    Zero(bool),
    Inf(bool),
    NaN { signaling: bool },
    Fin { sign: bool, m: u128, e: i32 },
}

fn unpack(p: Params, bits: u64) -> Val {
    let sign = bits & p.sign_bit() != 0;
    let ef = (bits >> p.frac) & p.exp_max_field();
    let f = bits & ((1u64 << p.frac) - 1);
    if ef == p.exp_max_field() {
        if f == 0 {
            Val::Inf(sign)
        } else {
            Val::NaN { signaling: f & (1 << (p.frac - 1)) == 0 }
        }
    } else if ef == 0 {
        if f == 0 {
            Val::Zero(sign)
        } else {
            Val::Fin { sign, m: f as u128, e: p.emin() - p.frac as i32 }
        }
    } else {
        Val::Fin { sign, m: (f | (1 << p.frac)) as u128, e: ef as i32 - p.bias() - p.frac as i32 }
    }
}

fn is_snan(v: Val) -> bool {
    matches!(v, Val::NaN { signaling: true })
}

fn is_nan(v: Val) -> bool {
    matches!(v, Val::NaN { .. })
}

// ---------------------------------------------------------------------------------------------------------------
// Rounding

/// Whether to add one unit in the last place, given the kept lsb, the first discarded bit and whether any bit
/// below it is set.
fn round_increment(rm: u8, sign: bool, lsb: bool, round: bool, sticky: bool) -> bool {
    match rm {
        RNE => round && (sticky || lsb),
        RTZ => false,
        RDN => sign && (round || sticky),
        RUP => !sign && (round || sticky),
        // RMM (and, defensively, any invalid encoding the caller should have rejected)
        _ => round,
    }
}

/// Splits `m` into the part above bit `shift` and the (round, sticky) bits of the discarded part.
fn split(m: u128, shift: u32) -> (u128, bool, bool) {
    match shift {
        0 => (m, false, false),
        1..=127 => {
            let kept = m >> shift;
            let round = (m >> (shift - 1)) & 1 != 0;
            let sticky = m & ((1u128 << (shift - 1)) - 1) != 0;
            (kept, round, sticky)
        }
        128 => (0, m >> 127 != 0, m & (u128::MAX >> 1) != 0),
        _ => (0, false, m != 0),
    }
}

/// Rounds the exact value `(-1)^sign · m · 2^e` (or, when `sticky`, a value strictly between `m·2^e` and
/// `(m+1)·2^e` in magnitude) to format `p` with rounding mode `rm`. `m` must be non-zero.
/// Returns the packed bits and the flags (NX, UF with tininess detected after rounding, OF).
fn round_pack(p: Params, sign: bool, m: u128, e: i32, sticky: bool, rm: u8) -> (u64, u8) {
    if m == 0 {
        // Callers never do this; the closest meaningful answer is a signed zero.
        return (p.zero(sign), 0);
    }
    // Normalize so that the msb is bit 127; `e` becomes the weight of bit 0. Low bits stand in for the sticky
    // part: the rounding point is at least 74 bits above bit 0, so an odd lsb is a faithful representative.
    let lz = m.leading_zeros();
    let m = (m << lz) | sticky as u128;
    let e = e - lz as i32;
    let exp = e + 127; // the value is in [2^exp, 2^(exp+1))
    let prec = p.frac + 1;
    let emin = p.emin();

    let overflow = |flags: u8| -> (u64, u8) {
        let to_inf = match rm {
            RTZ => false,
            RDN => sign,
            RUP => !sign,
            _ => true,
        };
        let bits = if to_inf { p.inf(sign) } else { p.max_finite(sign) };
        (bits, flags | OF | NX)
    };
    if exp > p.bias() {
        return overflow(0);
    }

    let sign_bits = p.zero(sign);
    if exp >= emin {
        let (kept, round, st) = split(m, 128 - prec);
        let inc = round_increment(rm, sign, kept & 1 != 0, round, st);
        // kept includes the hidden bit; a carry out of the significand bumps the exponent field naturally.
        let bits = (((exp + p.bias() - 1) as u64) << p.frac) + kept as u64 + inc as u64;
        let flags = if round || st { NX } else { 0 };
        if (bits >> p.frac) >= p.exp_max_field() {
            return overflow(flags);
        }
        return (sign_bits | bits, flags);
    }

    // Below the normal range: the result has fewer significant bits.
    let shift = 128 - prec + (emin - exp) as u32;
    let (kept, round, st) = split(m, shift);
    let inc = round_increment(rm, sign, kept & 1 != 0, round, st);
    let bits = kept as u64 + inc as u64; // reaching 1 << frac encodes the smallest normal number
    let inexact = round || st;
    let mut flags = if inexact { NX } else { 0 };
    if inexact {
        // Tininess after rounding: would rounding to full precision with an unbounded exponent still give a
        // magnitude below 2^emin? Only a value just below 2^emin can round up to it.
        let tiny = if exp == emin - 1 {
            let (k, r, s) = split(m, 128 - prec);
            let carried = round_increment(rm, sign, k & 1 != 0, r, s) && k + 1 == 1u128 << prec;
            !carried
        } else {
            true
        };
        if tiny {
            flags |= UF;
        }
    }
    (sign_bits | bits, flags)
}

// ---------------------------------------------------------------------------------------------------------------
// Exact arithmetic on unpacked values

/// The exact result of an arithmetic step, before rounding.
enum Exact {
    /// `(-1)^sign · m · 2^e`, strictly between `m` and `m+1` units when `sticky`.
    Num { sign: bool, m: u128, e: i32, sticky: bool },
    /// An exact zero whose sign is still to be decided by the caller's rules.
    Cancel,
}

/// Exact sum of two finite non-zero values whose significands have at most 120 bits.
fn add_exact(sa: bool, ma: u128, ea: i32, sb: bool, mb: u128, eb: i32) -> Exact {
    // Normalize both to msb at bit 125, leaving two bits of headroom for the carry.
    let la = ma.leading_zeros() as i32 - 2;
    let lb = mb.leading_zeros() as i32 - 2;
    let (ma, ea) = (ma << la, ea - la);
    let (mb, eb) = (mb << lb, eb - lb);
    let ((sa, ma, ea), (sb, mb, eb)) =
        if ea >= eb { ((sa, ma, ea), (sb, mb, eb)) } else { ((sb, mb, eb), (sa, ma, ea)) };
    let d = (ea - eb) as u32;
    let (bt, lost) = if d == 0 {
        (mb, false)
    } else if d < 128 {
        (mb >> d, mb & ((1u128 << d) - 1) != 0)
    } else {
        (0, true)
    };
    if sa == sb {
        return Exact::Num { sign: sa, m: ma + bt, e: ea, sticky: lost };
    }
    // Different signs: magnitude subtraction. With a loss (d >= 1), ma > mb >> d so no sign change.
    if lost {
        return Exact::Num { sign: sa, m: ma - bt - 1, e: ea, sticky: true };
    }
    match ma.cmp(&bt) {
        std::cmp::Ordering::Equal => Exact::Cancel,
        std::cmp::Ordering::Greater => Exact::Num { sign: sa, m: ma - bt, e: ea, sticky: false },
        std::cmp::Ordering::Less => Exact::Num { sign: sb, m: bt - ma, e: ea, sticky: false },
    }
}

/// Integer square root with remainder flag: (floor(sqrt(n)), n is not a perfect square).
fn isqrt(n: u128) -> (u128, bool) {
    let mut rem = n;
    let mut root: u128 = 0;
    let mut bit: u128 = 1 << 126;
    while bit > n {
        bit >>= 2;
    }
    while bit != 0 {
        if rem >= root + bit {
            rem -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    (root, rem != 0)
}

fn nan_result(p: Params, flags: u8) -> (u64, u8) {
    (p.canonical_nan(), flags)
}

fn zero_sum_sign(rm: u8) -> bool {
    rm == RDN
}

fn add(p: Params, a: Val, b: Val, rm: u8) -> (u64, u8) {
    match (a, b) {
        (Val::NaN { .. }, _) | (_, Val::NaN { .. }) => nan_result(p, if is_snan(a) || is_snan(b) { NV } else { 0 }),
        (Val::Inf(x), Val::Inf(y)) => {
            if x == y {
                (p.inf(x), 0)
            } else {
                nan_result(p, NV)
            }
        }
        (Val::Inf(x), _) | (_, Val::Inf(x)) => (p.inf(x), 0),
        (Val::Zero(x), Val::Zero(y)) => (p.zero(if x == y { x } else { zero_sum_sign(rm) }), 0),
        (Val::Zero(_), Val::Fin { sign, m, e }) | (Val::Fin { sign, m, e }, Val::Zero(_)) => {
            round_pack(p, sign, m, e, false, rm)
        }
        (Val::Fin { sign: sa, m: ma, e: ea }, Val::Fin { sign: sb, m: mb, e: eb }) => {
            finish(p, add_exact(sa, ma, ea, sb, mb, eb), rm)
        }
    }
}

fn finish(p: Params, x: Exact, rm: u8) -> (u64, u8) {
    match x {
        Exact::Cancel => (p.zero(zero_sum_sign(rm)), 0),
        Exact::Num { sign, m, e, sticky } => round_pack(p, sign, m, e, sticky, rm),
    }
}

fn neg(v: Val) -> Val {
    match v {
        Val::Zero(s) => Val::Zero(!s),
        Val::Inf(s) => Val::Inf(!s),
        Val::Fin { sign, m, e } => Val::Fin { sign: !sign, m, e },
        n @ Val::NaN { .. } => n,
    }
}

fn mul(p: Params, a: Val, b: Val, rm: u8) -> (u64, u8) {
    match (a, b) {
        (Val::NaN { .. }, _) | (_, Val::NaN { .. }) => nan_result(p, if is_snan(a) || is_snan(b) { NV } else { 0 }),
        (Val::Inf(_), Val::Zero(_)) | (Val::Zero(_), Val::Inf(_)) => nan_result(p, NV),
        (Val::Inf(x), Val::Inf(y)) => (p.inf(x != y), 0),
        (Val::Inf(x), Val::Fin { sign: y, .. }) | (Val::Fin { sign: x, .. }, Val::Inf(y)) => (p.inf(x != y), 0),
        (Val::Zero(x), Val::Zero(y) | Val::Fin { sign: y, .. }) | (Val::Fin { sign: x, .. }, Val::Zero(y)) => {
            (p.zero(x != y), 0)
        }
        (Val::Fin { sign: sa, m: ma, e: ea }, Val::Fin { sign: sb, m: mb, e: eb }) => {
            round_pack(p, sa != sb, ma * mb, ea + eb, false, rm)
        }
    }
}

fn div(p: Params, a: Val, b: Val, rm: u8) -> (u64, u8) {
    match (a, b) {
        (Val::NaN { .. }, _) | (_, Val::NaN { .. }) => nan_result(p, if is_snan(a) || is_snan(b) { NV } else { 0 }),
        (Val::Inf(_), Val::Inf(_)) | (Val::Zero(_), Val::Zero(_)) => nan_result(p, NV),
        (Val::Inf(x), Val::Zero(y) | Val::Fin { sign: y, .. }) => (p.inf(x != y), 0),
        (Val::Zero(x) | Val::Fin { sign: x, .. }, Val::Inf(y)) => (p.zero(x != y), 0),
        (Val::Zero(x), Val::Fin { sign: y, .. }) => (p.zero(x != y), 0),
        (Val::Fin { sign: x, .. }, Val::Zero(y)) => (p.inf(x != y), DZ),
        (Val::Fin { sign: sa, m: ma, e: ea }, Val::Fin { sign: sb, m: mb, e: eb }) => {
            // Significands have at most 53 bits: normalize to msb at bit 52, then a 64-bit shift gives a
            // quotient of at least 64 bits, far more than precision + 2.
            let la = ma.leading_zeros() as i32 - 75;
            let lb = mb.leading_zeros() as i32 - 75;
            let (ma, ea) = (ma << la, ea - la);
            let (mb, eb) = (mb << lb, eb - lb);
            let n = ma << 64;
            let q = n / mb;
            let r = n % mb;
            round_pack(p, sa != sb, q, ea - eb - 64, r != 0, rm)
        }
    }
}

fn sqrt(p: Params, a: Val, rm: u8) -> (u64, u8) {
    match a {
        Val::NaN { signaling } => nan_result(p, if signaling { NV } else { 0 }),
        Val::Zero(s) => (p.zero(s), 0),
        Val::Inf(false) => (p.inf(false), 0),
        Val::Inf(true) | Val::Fin { sign: true, .. } => nan_result(p, NV),
        Val::Fin { sign: false, m, e } => {
            // Normalize to msb at bit 124 or 125 with an even exponent: the root then has 63 bits.
            let mut l = m.leading_zeros() as i32 - 2;
            if (e - l) % 2 != 0 {
                l += 1;
            }
            let (r, inexact) = isqrt(m << l);
            round_pack(p, false, r, (e - l) / 2, inexact, rm)
        }
    }
}

/// Fused multiply-add `(-1)^neg_prod·(a·b) + (-1)^neg_c·c` with a single rounding.
fn fma(p: Params, a: Val, b: Val, c: Val, neg_prod: bool, neg_c: bool, rm: u8) -> (u64, u8) {
    let inf_times_zero = matches!((a, b), (Val::Inf(_), Val::Zero(_)) | (Val::Zero(_), Val::Inf(_)));
    if is_snan(a) || is_snan(b) || is_snan(c) || inf_times_zero {
        return nan_result(p, NV);
    }
    if is_nan(a) || is_nan(b) || is_nan(c) {
        return nan_result(p, 0);
    }
    let c = if neg_c { neg(c) } else { c };
    // The product, exactly.
    let sp = match (a, b) {
        (
            Val::Inf(x) | Val::Zero(x) | Val::Fin { sign: x, .. },
            Val::Inf(y) | Val::Zero(y) | Val::Fin { sign: y, .. },
        ) => (x != y) ^ neg_prod,
        _ => false,
    };
    let prod_inf = matches!(a, Val::Inf(_)) || matches!(b, Val::Inf(_));
    let prod_zero = matches!(a, Val::Zero(_)) || matches!(b, Val::Zero(_));
    if prod_inf {
        return match c {
            Val::Inf(sc) if sc != sp => nan_result(p, NV),
            _ => (p.inf(sp), 0),
        };
    }
    if let Val::Inf(sc) = c {
        return (p.inf(sc), 0);
    }
    if prod_zero {
        return match c {
            Val::Zero(sc) => (p.zero(if sc == sp { sp } else { zero_sum_sign(rm) }), 0),
            Val::Fin { sign, m, e } => round_pack(p, sign, m, e, false, rm),
            _ => nan_result(p, NV),
        };
    }
    let (mp, ep) = match (a, b) {
        (Val::Fin { m: ma, e: ea, .. }, Val::Fin { m: mb, e: eb, .. }) => (ma * mb, ea + eb),
        _ => return nan_result(p, NV), // unreachable: all other classes handled above
    };
    match c {
        Val::Zero(_) => round_pack(p, sp, mp, ep, false, rm),
        Val::Fin { sign, m, e } => finish(p, add_exact(sp, mp, ep, sign, m, e), rm),
        _ => nan_result(p, NV),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Comparisons, min/max, classification

/// Total order key of a non-NaN value, for comparisons (-0 and +0 are equal here).
fn ordered(p: Params, bits: u64) -> i128 {
    let mag = (bits & !p.sign_bit()) as i128;
    if bits & p.sign_bit() != 0 {
        -mag
    } else {
        mag
    }
}

/// feq, flt, fle and Zfa's quiet fltq, fleq: a NaN operand gives 0, and raises NV in the signaling comparisons
/// or when it is a signaling NaN.
fn compare(op: FpOp, p: Params, x: u64, y: u64) -> (u64, u8) {
    let (a, b) = (unpack(p, x), unpack(p, y));
    if is_nan(a) || is_nan(b) {
        let quiet = matches!(op, FpOp::Eq | FpOp::LtQ | FpOp::LeQ);
        let nv = !quiet || is_snan(a) || is_snan(b);
        return (0, if nv { NV } else { 0 });
    }
    let (ka, kb) = (ordered(p, x), ordered(p, y));
    let r = match op {
        FpOp::Eq => ka == kb,
        FpOp::Lt | FpOp::LtQ => ka < kb,
        _ => ka <= kb,
    };
    (r as u64, 0)
}

/// fmin/fmax (minimumNumber, maximumNumber: a NaN loses to a number) and, with `nan_wins`, Zfa's fminm/fmaxm
/// (minimum, maximum: any NaN operand gives the canonical NaN).
fn min_max(is_max: bool, nan_wins: bool, p: Params, x: u64, y: u64) -> (u64, u8) {
    let (a, b) = (unpack(p, x), unpack(p, y));
    let flags = if is_snan(a) || is_snan(b) { NV } else { 0 };
    let r = match (is_nan(a), is_nan(b)) {
        (true, true) => p.canonical_nan(),
        (true, false) | (false, true) if nan_wins => p.canonical_nan(),
        (true, false) => y,
        (false, true) => x,
        (false, false) => {
            // -0 < +0 here: compare with the sign as a tie-break.
            let key = |v: u64| (ordered(p, v), v & p.sign_bit() == 0);
            let a_less = key(x) < key(y);
            if a_less != is_max {
                x
            } else {
                y
            }
        }
    };
    (r, flags)
}

fn classify(p: Params, bits: u64) -> u64 {
    let exp_field = (bits >> p.frac) & p.exp_max_field();
    let bit = match unpack(p, bits) {
        Val::Inf(true) => 0,
        Val::Fin { sign: true, .. } if exp_field != 0 => 1,
        Val::Fin { sign: true, .. } => 2,
        Val::Zero(true) => 3,
        Val::Zero(false) => 4,
        Val::Fin { .. } if exp_field == 0 => 5,
        Val::Fin { .. } => 6,
        Val::Inf(false) => 7,
        Val::NaN { signaling: true } => 8,
        Val::NaN { signaling: false } => 9,
    };
    1 << bit
}

// ---------------------------------------------------------------------------------------------------------------
// Conversions

/// Float to integer of `width` bits (32 or 64), signed or not. Returns the value sign-extended to 64 bits.
fn to_int(v: Val, signed: bool, width: u32, rm: u8) -> (u64, u8) {
    // Limits as i128: [lo, hi].
    let (lo, hi): (i128, i128) =
        if signed { (-(1i128 << (width - 1)), (1i128 << (width - 1)) - 1) } else { (0, (1i128 << width) - 1) };
    let sext = |x: i128| -> u64 {
        if width == 32 {
            x as u32 as i32 as i64 as u64
        } else {
            x as u64
        }
    };
    match v {
        Val::NaN { .. } | Val::Inf(false) => (sext(hi), NV),
        Val::Inf(true) => (sext(lo), NV),
        Val::Zero(_) => (0, 0),
        Val::Fin { sign, m, e } => {
            // Magnitude rounded to an integer.
            let (mag, inexact) = if e >= 0 {
                if e > 70 {
                    return (sext(if sign { lo } else { hi }), NV);
                }
                (m << e, false)
            } else {
                let (kept, round, st) = split(m, (-e).min(200) as u32);
                let inc = round_increment(rm, sign, kept & 1 != 0, round, st);
                (kept + inc as u128, round || st)
            };
            // mag < 2^124, so the signed value fits in i128.
            let val = if sign { -(mag as i128) } else { mag as i128 };
            if val < lo {
                (sext(lo), NV)
            } else if val > hi {
                (sext(hi), NV)
            } else {
                (sext(val), if inexact { NX } else { 0 })
            }
        }
    }
}

/// fround / froundnx: `v` rounded to an integer in its own format; NX (when `raise_inexact`) if that changed it.
fn round_to_integral(p: Params, v: Val, rm: u8, raise_inexact: bool) -> (u64, u8) {
    match v {
        Val::NaN { signaling } => nan_result(p, if signaling { NV } else { 0 }),
        Val::Inf(sign) => (p.inf(sign), 0),
        Val::Zero(sign) => (p.zero(sign), 0),
        Val::Fin { sign, m, e } if e >= 0 => round_pack(p, sign, m, e, false, rm),
        Val::Fin { sign, m, e } => {
            let (kept, round, sticky) = split(m, (-e).min(200) as u32);
            let magnitude = kept + round_increment(rm, sign, kept & 1 != 0, round, sticky) as u128;
            let flags = if (round || sticky) && raise_inexact { NX } else { 0 };
            // An integer no larger than the input's magnitude rounded up: exact in the format.
            let bits = if magnitude == 0 { p.zero(sign) } else { round_pack(p, sign, magnitude, 0, false, rm).0 };
            (bits, flags)
        }
    }
}

/// fcvtmod.w.d: the integer part of `v` (rounded toward zero) modulo 2^32, sign-extended. NV, with a result of
/// 0 for NaN and infinity, when the integer part does not fit in 32 signed bits; otherwise NX if inexact.
fn to_int32_modulo(v: Val) -> (u64, u8) {
    let Val::Fin { sign, m, e } = v else {
        return (0, if matches!(v, Val::Zero(_)) { 0 } else { NV });
    };
    // m < 2^53: bits of the integer part above bit 31 cannot reach the result once e > 31.
    let (integer, inexact, too_big) = if e >= 0 {
        let low = if e > 31 { 0 } else { (m << e) as u64 };
        (low, false, e > 31 || m << e > 1 << 31)
    } else {
        let (kept, round, sticky) = split(m, (-e).min(200) as u32);
        (kept as u64, round || sticky, kept > 1 << 31)
    };
    let out_of_range = too_big || (!sign && integer == 1 << 31);
    let value = if sign { integer.wrapping_neg() } else { integer };
    let flags = if out_of_range {
        NV
    } else if inexact {
        NX
    } else {
        0
    };
    (value as u32 as i32 as i64 as u64, flags)
}

/// fli's constants by index: `(negative, m, e)` for `m · 2^e`; index 1 is the format's smallest normal number,
/// 30 infinity and 31 the canonical NaN.
const FLI_VALUES: [(bool, u128, i32); 30] = [
    (true, 1, 0),
    (false, 0, 0),
    (false, 1, -16),
    (false, 1, -15),
    (false, 1, -8),
    (false, 1, -7),
    (false, 1, -4),
    (false, 1, -3),
    (false, 1, -2),
    (false, 5, -4),
    (false, 3, -3),
    (false, 7, -4),
    (false, 1, -1),
    (false, 5, -3),
    (false, 3, -2),
    (false, 7, -3),
    (false, 1, 0),
    (false, 5, -2),
    (false, 3, -1),
    (false, 7, -2),
    (false, 1, 1),
    (false, 5, -1),
    (false, 3, 0),
    (false, 1, 2),
    (false, 1, 3),
    (false, 1, 4),
    (false, 1, 7),
    (false, 1, 8),
    (false, 1, 15),
    (false, 1, 16),
];

/// fli's constant `index` in format `p` (2^16 is infinity in half precision, as the specification's table says).
fn fli(p: Params, index: u64) -> u64 {
    match index {
        1 => 1 << p.frac, // the smallest normal number: exponent field 1
        30 => p.inf(false),
        31 => p.canonical_nan(),
        _ => match FLI_VALUES.get(index as usize) {
            Some(&(sign, m, e)) => round_pack(p, sign, m, e, false, RNE).0,
            None => p.canonical_nan(), // (the decoder's 5-bit field never gets here)
        },
    }
}

fn from_int(p: Params, sign: bool, mag: u64, rm: u8) -> (u64, u8) {
    if mag == 0 {
        return (p.zero(false), 0);
    }
    round_pack(p, sign, mag as u128, 0, false, rm)
}

// ---------------------------------------------------------------------------------------------------------------
// Fast path

/// Host f32/f64 add/sub/mul in round-to-nearest-even, used only where the host result and flags are provably
/// the ones the software path would give: finite operands, and a finite result that is a normal number far
/// enough from the subnormal range (so no underflow and the error terms below are exact). Exactness is then
/// decided with error-free transformations (Fast2Sum for add, a fused multiply-add for mul).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn fast_path(op: FpOp, fmt: FpFmt, a: u64, b: u64) -> Option<(u64, u8)> {
    macro_rules! body {
        ($t:ty, $x:expr, $y:expr, $lim:expr) => {{
            let (x, y): ($t, $t) = ($x, $y);
            if !x.is_finite() || !y.is_finite() {
                return None;
            }
            let y = if op == FpOp::Sub { -y } else { y };
            let (r, exact) = match op {
                FpOp::Add | FpOp::Sub => {
                    let r = x + y;
                    let (big, small) = if x.abs() >= y.abs() { (x, y) } else { (y, x) };
                    (r, small - (r - big) == 0.0)
                }
                FpOp::Mul => {
                    let r = x * y;
                    (r, x.mul_add(y, -r) == 0.0)
                }
                _ => return None,
            };
            if !r.is_finite() || r.abs() < $lim {
                return None;
            }
            (r, exact)
        }};
    }
    let (bits, exact) = match fmt {
        FpFmt::H => return None,
        FpFmt::D => {
            let (r, exact) = body!(f64, f64::from_bits(a), f64::from_bits(b), f64::from_bits(0x0400_0000_0000_0000));
            (r.to_bits(), exact)
        }
        FpFmt::S => {
            if a & BOX != BOX || b & BOX != BOX {
                return None;
            }
            let (r, exact) =
                body!(f32, f32::from_bits(a as u32), f32::from_bits(b as u32), f32::from_bits(0x2000_0000));
            (boxed(FpFmt::S, r.to_bits() as u64), exact)
        }
    };
    Some((bits, if exact { 0 } else { NX }))
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn fast_path(_op: FpOp, _fmt: FpFmt, _a: u64, _b: u64) -> Option<(u64, u8)> {
    None
}

// ---------------------------------------------------------------------------------------------------------------
// Entry point

/// Executes `op` in format `fmt`. `a`, `b`, `c` are raw register values: for F-register sources the full 64-bit
/// f register (singles are NaN-boxed; an improperly NaN-boxed single input is treated as the canonical NaN);
/// for integer sources the x register value. `rm` is an already-resolved rounding mode 0..=4
/// (RNE, RTZ, RDN, RUP, RMM).
/// Returns (result, fflags-to-accrue). For F destinations the result is the full 64-bit register value (singles
/// NaN-boxed); for integer destinations it is the value to write to the x register (32-bit results
/// sign-extended to 64).
pub fn execute(op: FpOp, fmt: FpFmt, a: u64, b: u64, c: u64, rm: u8) -> (u64, u8) {
    if rm == RNE && matches!(op, FpOp::Add | FpOp::Sub | FpOp::Mul) {
        if let Some(r) = fast_path(op, fmt, a, b) {
            return r;
        }
    }
    execute_soft(op, fmt, a, b, c, rm)
}

fn execute_soft(op: FpOp, fmt: FpFmt, a: u64, b: u64, c: u64, rm: u8) -> (u64, u8) {
    let p = Params::of(fmt);
    let fa = || unbox(fmt, a);
    let fb = || unbox(fmt, b);
    let va = || unpack(p, fa());
    let vb = || unpack(p, fb());
    let vc = || unpack(p, unbox(fmt, c));
    let to_f = |(bits, flags): (u64, u8)| (boxed(fmt, bits), flags);
    match op {
        FpOp::Add => to_f(add(p, va(), vb(), rm)),
        FpOp::Sub => to_f(add(p, va(), neg(vb()), rm)),
        FpOp::Mul => to_f(mul(p, va(), vb(), rm)),
        FpOp::Div => to_f(div(p, va(), vb(), rm)),
        FpOp::Sqrt => to_f(sqrt(p, va(), rm)),
        FpOp::MAdd => to_f(fma(p, va(), vb(), vc(), false, false, rm)),
        FpOp::MSub => to_f(fma(p, va(), vb(), vc(), false, true, rm)),
        FpOp::NMSub => to_f(fma(p, va(), vb(), vc(), true, false, rm)),
        FpOp::NMAdd => to_f(fma(p, va(), vb(), vc(), true, true, rm)),
        FpOp::Min => to_f(min_max(false, false, p, fa(), fb())),
        FpOp::Max => to_f(min_max(true, false, p, fa(), fb())),
        FpOp::MinM => to_f(min_max(false, true, p, fa(), fb())),
        FpOp::MaxM => to_f(min_max(true, true, p, fa(), fb())),
        FpOp::Fli => (boxed(fmt, fli(p, a)), 0),
        FpOp::Round => to_f(round_to_integral(p, va(), rm, false)),
        FpOp::RoundNx => to_f(round_to_integral(p, va(), rm, true)),
        FpOp::CvtModWFromD => to_int32_modulo(va()),
        FpOp::SgnJ | FpOp::SgnJN | FpOp::SgnJX => {
            let (x, y) = (fa(), fb());
            let sb = y & p.sign_bit();
            let s = match op {
                FpOp::SgnJ => sb,
                FpOp::SgnJN => sb ^ p.sign_bit(),
                _ => sb ^ (x & p.sign_bit()),
            };
            (boxed(fmt, (x & !p.sign_bit()) | s), 0)
        }
        FpOp::Eq | FpOp::Lt | FpOp::Le | FpOp::LtQ | FpOp::LeQ => compare(op, p, fa(), fb()),
        FpOp::Class => (classify(p, fa()), 0),
        FpOp::CvtWFromF => to_int(va(), true, 32, rm),
        FpOp::CvtWuFromF => to_int(va(), false, 32, rm),
        FpOp::CvtLFromF => to_int(va(), true, 64, rm),
        FpOp::CvtLuFromF => to_int(va(), false, 64, rm),
        FpOp::CvtFromW => {
            let x = a as u32 as i32;
            to_f(from_int(p, x < 0, x.unsigned_abs() as u64, rm))
        }
        FpOp::CvtFromWu => to_f(from_int(p, false, a as u32 as u64, rm)),
        FpOp::CvtFromL => {
            let x = a as i64;
            to_f(from_int(p, x < 0, x.unsigned_abs(), rm))
        }
        FpOp::CvtFromLu => to_f(from_int(p, false, a, rm)),
        FpOp::MvXFromF => {
            // The low `width` bits, sign-extended, whatever the boxing.
            let shift = 64 - fmt.bits();
            (((a << shift) as i64 >> shift) as u64, 0)
        }
        FpOp::MvFFromX => (boxed(fmt, a), 0),
        FpOp::CvtFromS | FpOp::CvtFromD | FpOp::CvtFromH => {
            let src_fmt = op.conversion_source().unwrap_or(fmt);
            to_f(match unpack(Params::of(src_fmt), unbox(src_fmt, a)) {
                Val::NaN { signaling } => nan_result(p, if signaling { NV } else { 0 }),
                Val::Inf(s) => (p.inf(s), 0),
                Val::Zero(s) => (p.zero(s), 0),
                Val::Fin { sign, m, e } => round_pack(p, sign, m, e, false, rm),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FpFmt::{D, H, S};
    use FpOp::*;

    const MODES: [u8; 5] = [RNE, RTZ, RDN, RUP, RMM];

    /// A NaN-boxed single from its bits.
    fn s(bits: u32) -> u64 {
        BOX | bits as u64
    }
    fn sf(x: f32) -> u64 {
        s(x.to_bits())
    }
    fn df(x: f64) -> u64 {
        x.to_bits()
    }
    fn run(op: FpOp, fmt: FpFmt, a: u64, b: u64, rm: u8) -> (u64, u8) {
        execute(op, fmt, a, b, 0, rm)
    }
    /// Checks one operation in all five rounding modes against `expected[rm]`.
    fn all_modes(op: FpOp, fmt: FpFmt, a: u64, b: u64, c: u64, expected: [(u64, u8); 5]) {
        for rm in MODES {
            let got = execute(op, fmt, a, b, c, rm);
            assert_eq!(
                got, expected[rm as usize],
                "{op:?}.{fmt:?} {a:#x} {b:#x} {c:#x} rm={rm}: got ({:#x}, {:#x})",
                got.0, got.1
            );
        }
    }

    const QNAN_S: u64 = BOX | 0x7fc0_0000;
    const QNAN_D: u64 = 0x7ff8_0000_0000_0000;
    const SNAN_S: u64 = BOX | 0x7f80_0001;
    const SNAN_D: u64 = 0x7ff0_0000_0000_0001;
    /// A quiet NaN with a payload and the sign set: never propagated.
    const QNAN_PAYLOAD_D: u64 = 0xfff8_0000_dead_beef;

    // --- rounding modes -------------------------------------------------------------------------------------

    #[test]
    fn one_third_rounds_per_mode() {
        all_modes(
            Div,
            S,
            sf(1.0),
            sf(3.0),
            0,
            [
                (s(0x3eaa_aaab), NX),
                (s(0x3eaa_aaaa), NX),
                (s(0x3eaa_aaaa), NX),
                (s(0x3eaa_aaab), NX),
                (s(0x3eaa_aaab), NX),
            ],
        );
        all_modes(
            Div,
            D,
            df(-1.0),
            df(3.0),
            0,
            [
                (0xbfd5_5555_5555_5555, NX),
                (0xbfd5_5555_5555_5555, NX),
                (0xbfd5_5555_5555_5556, NX),
                (0xbfd5_5555_5555_5555, NX),
                (0xbfd5_5555_5555_5555, NX),
            ],
        );
    }

    #[test]
    fn ties_go_to_even_or_away() {
        // 1 + 2^-24 is halfway between 1 and 1 + 2^-23: RNE keeps the even 1.0, RMM goes away.
        all_modes(
            Add,
            S,
            sf(1.0),
            sf(2f32.powi(-24)),
            0,
            [
                (s(0x3f80_0000), NX),
                (s(0x3f80_0000), NX),
                (s(0x3f80_0000), NX),
                (s(0x3f80_0001), NX),
                (s(0x3f80_0001), NX),
            ],
        );
        // (1 + 2^-23) + 2^-24: a tie with an odd lsb, RNE rounds up.
        all_modes(
            Add,
            S,
            s(0x3f80_0001),
            sf(2f32.powi(-24)),
            0,
            [
                (s(0x3f80_0002), NX),
                (s(0x3f80_0001), NX),
                (s(0x3f80_0001), NX),
                (s(0x3f80_0002), NX),
                (s(0x3f80_0002), NX),
            ],
        );
    }

    #[test]
    fn product_of_half_the_smallest_subnormal() {
        // 2^-75 * 2^-75 = 2^-150, exactly half of the smallest subnormal single 2^-149.
        let x = s(0x1a00_0000);
        all_modes(
            Mul,
            S,
            x,
            x,
            0,
            [(s(0), UF | NX), (s(0), UF | NX), (s(0), UF | NX), (s(1), UF | NX), (s(1), UF | NX)],
        );
        all_modes(
            Mul,
            S,
            x,
            x | 0x8000_0000,
            0,
            [
                (s(0x8000_0000), UF | NX),
                (s(0x8000_0000), UF | NX),
                (s(0x8000_0001), UF | NX),
                (s(0x8000_0000), UF | NX),
                (s(0x8000_0001), UF | NX),
            ],
        );
    }

    #[test]
    fn tininess_is_detected_after_rounding() {
        // 2^-126 (1 - 3·2^-26): rounds to the smallest normal 2^-126 in RNE, but with an unbounded exponent it
        // would round to 2^-126 - 2^-150 < 2^-126: tiny, so UF (RISC-V detects tininess after rounding).
        let v = 2f64.powi(-126) * (1.0 - 3.0 * 2f64.powi(-26));
        all_modes(
            CvtFromD,
            S,
            df(v),
            0,
            0,
            [
                (s(0x0080_0000), UF | NX),
                (s(0x007f_ffff), UF | NX),
                (s(0x007f_ffff), UF | NX),
                (s(0x0080_0000), NX), // rounding up with an unbounded exponent reaches 2^-126 too: not tiny
                (s(0x0080_0000), UF | NX),
            ],
        );
        // 2^-126 (1 - 2^-26): even at full precision it rounds to 2^-126 in RNE: not tiny, only NX.
        let v = 2f64.powi(-126) * (1.0 - 2f64.powi(-26));
        all_modes(
            CvtFromD,
            S,
            df(v),
            0,
            0,
            [
                (s(0x0080_0000), NX),
                (s(0x007f_ffff), UF | NX),
                (s(0x007f_ffff), UF | NX),
                (s(0x0080_0000), NX),
                (s(0x0080_0000), NX),
            ],
        );
        // An exact subnormal result raises no UF.
        assert_eq!(run(Mul, S, s(0x0000_0002), sf(0.5), RNE), (s(1), 0));
        assert_eq!(run(Sub, D, 0x0010_0000_0000_0001, 0x0010_0000_0000_0000, RNE), (1, 0));
    }

    #[test]
    fn overflow_per_mode() {
        let big = sf(2f32.powi(100));
        all_modes(
            Mul,
            S,
            big,
            big,
            0,
            [
                (s(0x7f80_0000), OF | NX),
                (s(0x7f7f_ffff), OF | NX),
                (s(0x7f7f_ffff), OF | NX),
                (s(0x7f80_0000), OF | NX),
                (s(0x7f80_0000), OF | NX),
            ],
        );
        all_modes(
            Mul,
            D,
            df(-1e300),
            df(1e300),
            0,
            [
                (0xfff0_0000_0000_0000, OF | NX),
                (0xffef_ffff_ffff_ffff, OF | NX),
                (0xfff0_0000_0000_0000, OF | NX),
                (0xffef_ffff_ffff_ffff, OF | NX),
                (0xfff0_0000_0000_0000, OF | NX),
            ],
        );
        // Overflow caused by rounding: max + half an ulp.
        let max = f64::MAX.to_bits();
        assert_eq!(run(Add, D, max, df(2f64.powi(970)), RNE), (0x7ff0_0000_0000_0000, OF | NX));
        assert_eq!(run(Add, D, max, df(2f64.powi(970)), RTZ), (max, NX));
    }

    #[test]
    fn exact_zero_sums_are_positive_except_in_rdn() {
        for rm in MODES {
            let z = if rm == RDN { 0x8000_0000_0000_0000 } else { 0 };
            assert_eq!(run(Add, D, df(1.5), df(-1.5), rm), (z, 0));
            assert_eq!(run(Sub, D, df(1.5), df(1.5), rm), (z, 0));
            assert_eq!(run(Add, D, df(0.0), df(-0.0), rm), (z, 0));
            assert_eq!(run(Add, D, df(-0.0), df(-0.0), rm), (df(-0.0), 0));
            assert_eq!(run(Add, S, sf(-0.0), sf(-0.0), rm), (sf(-0.0), 0));
        }
    }

    // --- exceptions and NaNs --------------------------------------------------------------------------------

    #[test]
    fn divide_by_zero_and_invalid() {
        assert_eq!(run(Div, D, df(1.0), df(0.0), RNE), (df(f64::INFINITY), DZ));
        assert_eq!(run(Div, D, df(-1.0), df(0.0), RNE), (df(f64::NEG_INFINITY), DZ));
        assert_eq!(run(Div, S, sf(1.0), sf(-0.0), RNE), (sf(f32::NEG_INFINITY), DZ));
        assert_eq!(run(Div, D, df(f64::INFINITY), df(0.0), RNE), (df(f64::INFINITY), 0));
        assert_eq!(run(Div, D, df(0.0), df(0.0), RNE), (QNAN_D, NV));
        assert_eq!(run(Div, S, sf(f32::INFINITY), sf(-f32::INFINITY), RNE), (QNAN_S, NV));
        assert_eq!(run(Mul, D, df(0.0), df(f64::INFINITY), RNE), (QNAN_D, NV));
        assert_eq!(run(Add, D, df(f64::INFINITY), df(f64::NEG_INFINITY), RNE), (QNAN_D, NV));
        assert_eq!(run(Sub, S, sf(f32::INFINITY), sf(f32::INFINITY), RNE), (QNAN_S, NV));
        assert_eq!(run(Sqrt, D, df(-1.0), 0, RNE), (QNAN_D, NV));
        assert_eq!(run(Sqrt, S, sf(f32::NEG_INFINITY), 0, RNE), (QNAN_S, NV));
        assert_eq!(run(Sqrt, D, df(-0.0), 0, RNE), (df(-0.0), 0));
        assert_eq!(run(Sqrt, S, sf(f32::INFINITY), 0, RNE), (sf(f32::INFINITY), 0));
    }

    #[test]
    fn nan_results_are_canonical_and_snan_raises_nv() {
        for op in [Add, Sub, Mul, Div] {
            assert_eq!(run(op, D, QNAN_PAYLOAD_D, df(1.0), RNE), (QNAN_D, 0), "{op:?}");
            assert_eq!(run(op, D, df(1.0), SNAN_D, RNE), (QNAN_D, NV), "{op:?}");
            assert_eq!(run(op, S, s(0xffc0_1234), sf(1.0), RNE), (QNAN_S, 0), "{op:?}");
            assert_eq!(run(op, S, sf(2.0), SNAN_S, RNE), (QNAN_S, NV), "{op:?}");
        }
        assert_eq!(run(Sqrt, D, SNAN_D, 0, RNE), (QNAN_D, NV));
        assert_eq!(run(Sqrt, S, s(0xffc0_0001), 0, RNE), (QNAN_S, 0));
        assert_eq!(execute(MAdd, D, df(1.0), df(2.0), SNAN_D, RNE), (QNAN_D, NV));
        assert_eq!(execute(MAdd, S, sf(1.0), sf(2.0), s(0x7fc0_0005), RNE), (QNAN_S, 0));
    }

    #[test]
    fn nan_boxing_of_inputs_and_outputs() {
        // A single whose upper half is not all ones is the canonical (quiet) NaN: no NV.
        let bad = 0x0000_0000_3f80_0000; // 1.0f32 without the box
        assert_eq!(run(Add, S, bad, sf(1.0), RNE), (QNAN_S, 0));
        assert_eq!(run(Eq, S, bad, bad, RNE), (0, 0));
        assert_eq!(run(Lt, S, bad, sf(1.0), RNE), (0, NV));
        assert_eq!(run(Class, S, bad, 0, RNE), (1 << 9, 0));
        assert_eq!(run(Max, S, bad, sf(1.0), RNE), (sf(1.0), 0));
        assert_eq!(run(Max, S, 0x7fff_ffff_3f80_0000, bad, RNE), (QNAN_S, 0));
        assert_eq!(run(CvtWFromF, S, bad, 0, RNE), (0x7fff_ffff, NV));
        assert_eq!(run(CvtFromS, D, bad, 0, RNE), (QNAN_D, 0));
        // Sign injection sees the canonical NaN too (sign 0).
        assert_eq!(run(SgnJ, S, bad, sf(-1.0), RNE), (s(0xffc0_0000), 0));
        assert_eq!(run(SgnJN, S, sf(1.0), bad, RNE), (sf(-1.0), 0));
        // Results are boxed.
        assert_eq!(run(Add, S, sf(1.0), sf(2.0), RNE), (0xffff_ffff_4040_0000, 0));
        assert_eq!(run(CvtFromW, S, (-1i64) as u64, 0, RNE), (0xffff_ffff_bf80_0000, 0));
        // Moves: fmv.w.x boxes the low 32 bits, fmv.x.w sign-extends them without looking at the box.
        assert_eq!(run(MvFFromX, S, 0x1234_5678_8000_0001, 0, RNE), (0xffff_ffff_8000_0001, 0));
        assert_eq!(run(MvXFromF, S, 0x0000_0000_8000_0001, 0, RNE), (0xffff_ffff_8000_0001, 0));
        assert_eq!(run(MvXFromF, S, BOX | 0x7fc0_0000, 0, RNE), (0x7fc0_0000, 0));
        assert_eq!(run(MvXFromF, D, SNAN_D, 0, RNE), (SNAN_D, 0));
        assert_eq!(run(MvFFromX, D, SNAN_D, 0, RNE), (SNAN_D, 0));
    }

    #[test]
    fn sign_injection_is_bitwise() {
        assert_eq!(run(SgnJ, D, df(2.0), df(-0.0), RNE), (df(-2.0), 0));
        assert_eq!(run(SgnJN, D, df(2.0), df(-0.0), RNE), (df(2.0), 0));
        assert_eq!(run(SgnJX, D, df(-2.0), df(-3.0), RNE), (df(2.0), 0));
        // NaNs are not canonicalized and a signaling NaN raises nothing.
        assert_eq!(run(SgnJN, D, SNAN_D, SNAN_D, RNE), (SNAN_D | 1 << 63, 0));
        assert_eq!(run(SgnJX, S, s(0xff80_0001), s(0x8000_0000), RNE), (s(0x7f80_0001), 0));
    }

    // --- min/max and comparisons ----------------------------------------------------------------------------

    #[test]
    fn min_max_are_minimum_number_and_maximum_number() {
        let (p0, n0) = (df(0.0), df(-0.0));
        assert_eq!(run(Min, D, p0, n0, RNE), (n0, 0));
        assert_eq!(run(Min, D, n0, p0, RNE), (n0, 0));
        assert_eq!(run(Max, D, p0, n0, RNE), (p0, 0));
        assert_eq!(run(Max, D, n0, p0, RNE), (p0, 0));
        assert_eq!(run(Min, D, df(-1.0), df(2.0), RNE), (df(-1.0), 0));
        assert_eq!(run(Max, D, df(-1.0), df(-2.0), RNE), (df(-1.0), 0));
        // One NaN: the other operand; NV only when it is signaling.
        assert_eq!(run(Min, D, QNAN_PAYLOAD_D, df(1.0), RNE), (df(1.0), 0));
        assert_eq!(run(Max, D, df(1.0), SNAN_D, RNE), (df(1.0), NV));
        assert_eq!(run(Min, S, SNAN_S, sf(-3.0), RNE), (sf(-3.0), NV));
        // Both NaN: the canonical NaN.
        assert_eq!(run(Min, D, QNAN_PAYLOAD_D, QNAN_PAYLOAD_D, RNE), (QNAN_D, 0));
        assert_eq!(run(Max, S, SNAN_S, s(0x7fc0_0001), RNE), (QNAN_S, NV));
    }

    #[test]
    fn comparisons() {
        assert_eq!(run(Eq, D, df(-0.0), df(0.0), RNE), (1, 0));
        assert_eq!(run(Le, D, df(-0.0), df(0.0), RNE), (1, 0));
        assert_eq!(run(Lt, D, df(-0.0), df(0.0), RNE), (0, 0));
        assert_eq!(run(Lt, S, sf(-2.0), sf(-1.0), RNE), (1, 0));
        assert_eq!(run(Le, S, sf(f32::INFINITY), sf(f32::MAX), RNE), (0, 0));
        // feq: NV only for signaling NaNs; flt/fle: NV for any NaN. Always 0.
        assert_eq!(run(Eq, D, QNAN_D, QNAN_D, RNE), (0, 0));
        assert_eq!(run(Eq, D, SNAN_D, df(1.0), RNE), (0, NV));
        assert_eq!(run(Lt, D, QNAN_D, df(1.0), RNE), (0, NV));
        assert_eq!(run(Le, S, sf(1.0), QNAN_S, RNE), (0, NV));
    }

    #[test]
    fn fclass_all_ten_classes() {
        let d = [
            (f64::NEG_INFINITY.to_bits(), 0),
            (df(-1.0), 1),
            (0x800f_ffff_ffff_ffff, 2),
            (df(-0.0), 3),
            (df(0.0), 4),
            (1, 5),
            (df(f64::MAX), 6),
            (f64::INFINITY.to_bits(), 7),
            (SNAN_D, 8),
            (QNAN_D, 9),
        ];
        for (x, bit) in d {
            assert_eq!(run(Class, D, x, 0, RNE), (1 << bit, 0), "{x:#x}");
        }
        let s_cases = [
            (0xff80_0000, 0),
            (0xbf80_0000, 1),
            (0x8000_0001, 2),
            (0x8000_0000, 3),
            (0, 4),
            (0x007f_ffff, 5),
            (0x0080_0000, 6),
            (0x7f80_0000, 7),
            (0x7fbf_ffff, 8),
            (0xffc0_0000, 9),
        ];
        for (x, bit) in s_cases {
            assert_eq!(run(Class, S, s(x), 0, RNE), (1 << bit, 0), "{x:#x}");
        }
    }

    // --- fused multiply-add ---------------------------------------------------------------------------------

    #[test]
    fn fma_rounds_once() {
        // (1 + 2^-52)(1 - 2^-52) - 1 = -2^-104 exactly; mul-then-add would give 0.
        let (a, b) = (df(1.0 + f64::EPSILON), df(1.0 - f64::EPSILON));
        assert_eq!(run(Mul, D, a, b, RNE), (df(1.0), NX));
        assert_eq!(execute(MAdd, D, a, b, df(-1.0), RNE), (0xb970_0000_0000_0000, 0));
        assert_eq!(execute(MSub, D, a, b, df(1.0), RNE), (0xb970_0000_0000_0000, 0));
        assert_eq!(execute(NMSub, D, a, b, df(1.0), RNE), (0x3970_0000_0000_0000, 0));
        assert_eq!(execute(NMAdd, D, a, b, df(-1.0), RNE), (0x3970_0000_0000_0000, 0));
        // Single: (1 + 2^-23)^2 + 0 needs rounding only once: 1 + 2^-22 + 2^-46 -> 1 + 2^-22 (RNE), RUP adds an ulp.
        let x = s(0x3f80_0001);
        assert_eq!(execute(MAdd, S, x, x, sf(0.0), RNE), (s(0x3f80_0002), NX));
        assert_eq!(execute(MAdd, S, x, x, sf(0.0), RUP), (s(0x3f80_0003), NX));
    }

    #[test]
    fn fma_signs_and_specials() {
        assert_eq!(execute(MAdd, D, df(2.0), df(3.0), df(1.0), RNE), (df(7.0), 0));
        assert_eq!(execute(MSub, D, df(2.0), df(3.0), df(1.0), RNE), (df(5.0), 0));
        assert_eq!(execute(NMSub, D, df(2.0), df(3.0), df(1.0), RNE), (df(-5.0), 0));
        assert_eq!(execute(NMAdd, D, df(2.0), df(3.0), df(1.0), RNE), (df(-7.0), 0));
        // Exact zeros: -(1·1) + 1 is +0, or -0 in RDN; -(+0·1) - (+0) is -0.
        assert_eq!(execute(NMSub, S, sf(1.0), sf(1.0), sf(1.0), RNE), (sf(0.0), 0));
        assert_eq!(execute(NMSub, S, sf(1.0), sf(1.0), sf(1.0), RDN), (sf(-0.0), 0));
        assert_eq!(execute(NMAdd, D, df(0.0), df(1.0), df(0.0), RNE), (df(-0.0), 0));
        assert_eq!(execute(MAdd, D, df(-0.0), df(1.0), df(0.0), RNE), (df(0.0), 0));
        assert_eq!(execute(MAdd, D, df(-0.0), df(1.0), df(0.0), RDN), (df(-0.0), 0));
        // inf·0 is invalid even when the addend is a quiet NaN.
        assert_eq!(execute(MAdd, D, df(f64::INFINITY), df(0.0), QNAN_D, RNE), (QNAN_D, NV));
        assert_eq!(execute(MAdd, S, sf(0.0), sf(f32::INFINITY), QNAN_S, RNE), (QNAN_S, NV));
        // inf - inf.
        assert_eq!(execute(MSub, D, df(f64::INFINITY), df(1.0), df(f64::INFINITY), RNE), (QNAN_D, NV));
        assert_eq!(
            execute(MAdd, D, df(f64::INFINITY), df(-1.0), df(f64::NEG_INFINITY), RNE),
            (df(f64::NEG_INFINITY), 0)
        );
        // qNaN operand without invalid: canonical NaN, no flags.
        assert_eq!(execute(MAdd, D, QNAN_PAYLOAD_D, df(0.0), df(f64::INFINITY), RNE), (QNAN_D, 0));
        // The product alone would underflow, the fused sum does not: only NX.
        let tiny = df(2f64.powi(-600));
        assert_eq!(execute(MAdd, D, tiny, tiny, df(1.0), RNE), (df(1.0), NX));
        assert_eq!(execute(MAdd, D, tiny, tiny, df(1.0), RUP), (df(1.0) + 1, NX));
        assert_eq!(execute(NMSub, D, tiny, tiny, df(1.0), RTZ), (df(1.0) - 1, NX));
    }

    // --- conversions ----------------------------------------------------------------------------------------

    const I32_MIN: u64 = 0xffff_ffff_8000_0000;
    const U_ALL: u64 = u64::MAX;

    #[test]
    fn fcvt_to_int_saturation_table() {
        for fmt in [S, D] {
            let (nan, pinf, ninf) = match fmt {
                S => (QNAN_S, sf(f32::INFINITY), sf(f32::NEG_INFINITY)),
                _ => (QNAN_D, df(f64::INFINITY), df(f64::NEG_INFINITY)),
            };
            let big = |x: f64| if fmt == S { sf(x as f32) } else { df(x) };
            // (op, NaN, +inf, -inf, too large, too small)
            let table = [
                (CvtWFromF, 0x7fff_ffff, 0x7fff_ffff, I32_MIN, 0x7fff_ffff, I32_MIN),
                (CvtWuFromF, U_ALL, U_ALL, 0, U_ALL, 0),
                (CvtLFromF, i64::MAX as u64, i64::MAX as u64, i64::MIN as u64, i64::MAX as u64, i64::MIN as u64),
                (CvtLuFromF, U_ALL, U_ALL, 0, U_ALL, 0),
            ];
            for (op, r_nan, r_pinf, r_ninf, r_big, r_small) in table {
                let wide = matches!(op, CvtLFromF | CvtLuFromF);
                let (lo, hi) = if wide { (-1e19 * 2.0, 2e19) } else { (-3e9 * 2.0, 5e9) };
                assert_eq!(run(op, fmt, nan, 0, RNE), (r_nan, NV), "{op:?} {fmt:?}");
                assert_eq!(run(op, fmt, SNAN_D, 0, RNE).1, NV);
                assert_eq!(run(op, fmt, pinf, 0, RNE), (r_pinf, NV), "{op:?} {fmt:?}");
                assert_eq!(run(op, fmt, ninf, 0, RNE), (r_ninf, NV), "{op:?} {fmt:?}");
                assert_eq!(run(op, fmt, big(hi), 0, RTZ), (r_big, NV), "{op:?} {fmt:?}");
                assert_eq!(run(op, fmt, big(lo), 0, RTZ), (r_small, NV), "{op:?} {fmt:?}");
            }
            // Unsigned: a negative value is invalid unless it rounds to zero, which is merely inexact.
            for op in [CvtWuFromF, CvtLuFromF] {
                assert_eq!(run(op, fmt, big(-1.0), 0, RTZ), (0, NV));
                assert_eq!(run(op, fmt, big(-0.5), 0, RTZ), (0, NX));
                assert_eq!(run(op, fmt, big(-0.5), 0, RNE), (0, NX));
                assert_eq!(run(op, fmt, big(-0.5), 0, RUP), (0, NX));
                assert_eq!(run(op, fmt, big(-0.5), 0, RMM), (0, NV));
                assert_eq!(run(op, fmt, big(-0.5), 0, RDN), (0, NV));
                assert_eq!(run(op, fmt, big(-0.0), 0, RDN), (0, 0));
            }
            // Exact limits are valid.
            assert_eq!(run(CvtLFromF, fmt, big(-(2f64.powi(63))), 0, RNE), (i64::MIN as u64, 0));
            assert_eq!(run(CvtWFromF, fmt, big(-2147483648.0), 0, RNE), (I32_MIN, 0));
            // 2^63 and 2^64, 2^31 and 2^32 are one past the limits.
            assert_eq!(run(CvtLFromF, fmt, big(2f64.powi(63)), 0, RNE), (i64::MAX as u64, NV));
            assert_eq!(run(CvtLuFromF, fmt, big(2f64.powi(64)), 0, RNE), (U_ALL, NV));
            assert_eq!(run(CvtLuFromF, fmt, big(2f64.powi(63)), 0, RNE), (1 << 63, 0));
            assert_eq!(run(CvtWFromF, fmt, big(2147483648.0), 0, RNE), (0x7fff_ffff, NV));
            assert_eq!(run(CvtWuFromF, fmt, big(4294967296.0), 0, RNE), (U_ALL, NV));
            // fcvt.wu results are sign-extended from 32 bits.
            assert_eq!(run(CvtWuFromF, fmt, big(3e9), 0, RNE), (0xffff_ffff_b2d0_5e00, 0));
        }
    }

    #[test]
    fn fcvt_to_int_rounding() {
        all_modes(CvtWFromF, D, df(2.5), 0, 0, [(2, NX), (2, NX), (2, NX), (3, NX), (3, NX)]);
        all_modes(
            CvtLFromF,
            D,
            df(-2.5),
            0,
            0,
            [(-2i64 as u64, NX), (-2i64 as u64, NX), (-3i64 as u64, NX), (-2i64 as u64, NX), (-3i64 as u64, NX)],
        );
        all_modes(CvtLuFromF, S, sf(1.5), 0, 0, [(2, NX), (1, NX), (1, NX), (2, NX), (2, NX)]);
        // Near the limit: 2147483647.5 is fine when it rounds down, invalid when it rounds up.
        all_modes(
            CvtWFromF,
            D,
            df(2147483647.5),
            0,
            0,
            [(0x7fff_ffff, NV), (0x7fff_ffff, NX), (0x7fff_ffff, NX), (0x7fff_ffff, NV), (0x7fff_ffff, NV)],
        );
        all_modes(
            CvtWFromF,
            D,
            df(-2147483648.5),
            0,
            0,
            [(I32_MIN, NX), (I32_MIN, NX), (I32_MIN, NV), (I32_MIN, NX), (I32_MIN, NV)],
        );
        assert_eq!(run(CvtWFromF, S, s(1), 0, RUP), (1, NX));
        assert_eq!(run(CvtWFromF, S, s(0x8000_0001), 0, RDN), (u64::MAX, NX));
    }

    #[test]
    fn fcvt_from_int() {
        all_modes(
            CvtFromW,
            S,
            (1 << 24) + 1,
            0,
            0,
            [
                (s(0x4b80_0000), NX),
                (s(0x4b80_0000), NX),
                (s(0x4b80_0000), NX),
                (s(0x4b80_0001), NX),
                (s(0x4b80_0001), NX),
            ],
        );
        // fcvt.s.wu reads only the low 32 bits.
        all_modes(
            CvtFromWu,
            S,
            0x1234_5678_ffff_ffff,
            0,
            0,
            [
                (s(0x4f80_0000), NX),
                (s(0x4f7f_ffff), NX),
                (s(0x4f7f_ffff), NX),
                (s(0x4f80_0000), NX),
                (s(0x4f80_0000), NX),
            ],
        );
        assert_eq!(run(CvtFromW, D, 0x0000_0001_8000_0000, 0, RNE), (df(-2147483648.0), 0));
        assert_eq!(run(CvtFromL, D, i64::MIN as u64, 0, RNE), (df(-(2f64.powi(63))), 0));
        all_modes(
            CvtFromLu,
            D,
            u64::MAX,
            0,
            0,
            [
                (0x43f0_0000_0000_0000, NX),
                (0x43ef_ffff_ffff_ffff, NX),
                (0x43ef_ffff_ffff_ffff, NX),
                (0x43f0_0000_0000_0000, NX),
                (0x43f0_0000_0000_0000, NX),
            ],
        );
        assert_eq!(run(CvtFromL, S, 0, 0, RDN), (s(0), 0));
        assert_eq!(run(CvtFromL, D, -3i64 as u64, 0, RNE), (df(-3.0), 0));
    }

    #[test]
    fn fcvt_between_formats() {
        all_modes(
            CvtFromD,
            S,
            df(1e300),
            0,
            0,
            [
                (s(0x7f80_0000), OF | NX),
                (s(0x7f7f_ffff), OF | NX),
                (s(0x7f7f_ffff), OF | NX),
                (s(0x7f80_0000), OF | NX),
                (s(0x7f80_0000), OF | NX),
            ],
        );
        all_modes(
            CvtFromD,
            S,
            df(1e-300),
            0,
            0,
            [(s(0), UF | NX), (s(0), UF | NX), (s(0), UF | NX), (s(1), UF | NX), (s(0), UF | NX)],
        );
        all_modes(
            CvtFromD,
            S,
            df(1.0 / 3.0),
            0,
            0,
            [
                (s(0x3eaa_aaab), NX),
                (s(0x3eaa_aaaa), NX),
                (s(0x3eaa_aaaa), NX),
                (s(0x3eaa_aaab), NX),
                (s(0x3eaa_aaab), NX),
            ],
        );
        assert_eq!(run(CvtFromD, S, df(-1.5), 0, RNE), (sf(-1.5), 0));
        assert_eq!(run(CvtFromD, S, df(f64::NEG_INFINITY), 0, RNE), (sf(f32::NEG_INFINITY), 0));
        assert_eq!(run(CvtFromD, S, SNAN_D, 0, RNE), (QNAN_S, NV));
        assert_eq!(run(CvtFromD, S, QNAN_PAYLOAD_D, 0, RNE), (QNAN_S, 0));
        // Widening is exact, subnormals included.
        assert_eq!(run(CvtFromS, D, s(1), 0, RNE), (df(2f64.powi(-149)), 0));
        assert_eq!(run(CvtFromS, D, sf(-0.0), 0, RNE), (df(-0.0), 0));
        assert_eq!(run(CvtFromS, D, SNAN_S, 0, RNE), (QNAN_D, NV));
        assert_eq!(run(CvtFromS, D, s(0xffc1_2345), 0, RNE), (QNAN_D, 0));
    }

    #[test]
    fn sqrt_rounds_per_mode() {
        all_modes(
            Sqrt,
            D,
            df(2.0),
            0,
            0,
            [
                (0x3ff6_a09e_667f_3bcd, NX),
                (0x3ff6_a09e_667f_3bcc, NX),
                (0x3ff6_a09e_667f_3bcc, NX),
                (0x3ff6_a09e_667f_3bcd, NX),
                (0x3ff6_a09e_667f_3bcd, NX),
            ],
        );
        assert_eq!(run(Sqrt, S, sf(2.25), 0, RUP), (sf(1.5), 0));
        // sqrt of the smallest subnormal double is exactly 2^-537.
        assert_eq!(run(Sqrt, D, 1, 0, RNE), (df(2f64.powi(-537)), 0));
        assert_eq!(run(Sqrt, S, s(2), 0, RNE), (sf(2f32.powi(-74)), 0)); // 2^-148
    }

    // --- randomized cross-checks ------------------------------------------------------------------------------
    //
    // Against rustc_apfloat (LLVM's APFloat, an independent IEEE implementation) in all rounding modes. APFloat
    // detects tininess *before* rounding, so UF is compared everywhere except when the delivered result is the
    // smallest normal number, the only place where the two definitions can differ.

    use rustc_apfloat::ieee::{Double, Half, Single};
    use rustc_apfloat::{Float, FloatConvert, Round, Status, StatusAnd};

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        /// A finite value of `fmt` (raw bits, not boxed) biased towards the interesting places.
        fn finite(&mut self, fmt: FpFmt) -> u64 {
            let p = Params::of(fmt);
            let sign = if self.next() & 1 == 1 { p.sign_bit() } else { 0 };
            let fmask = (1u64 << p.frac) - 1;
            let frac = match self.below(4) {
                0 => fmask,
                1 => self.next() & fmask & !((1u64 << self.below(p.frac as u64)) - 1),
                2 => (1u64 << self.below(p.frac as u64)) | (self.next() & 1),
                _ => self.next() & fmask,
            };
            let emax = p.exp_max_field() - 1;
            let exp = match self.below(10) {
                0 => 0,
                1 => self.below(3),
                2 => emax - self.below(3),
                3 => p.bias() as u64 - 1 + self.below(3),
                4 => (p.bias() as u64 / 2).wrapping_add(self.below(6)).wrapping_sub(3),
                5 => p.bias() as u64 + p.bias() as u64 / 2 - self.below(6),
                _ => 1 + self.below(emax),
            };
            let bits = sign | (exp << p.frac) | frac;
            if self.below(40) == 0 {
                sign
            } else {
                bits
            }
        }
        fn mode(&mut self) -> u8 {
            self.below(5) as u8
        }
    }

    fn round_of(rm: u8) -> Round {
        match rm {
            RNE => Round::NearestTiesToEven,
            RTZ => Round::TowardZero,
            RDN => Round::TowardNegative,
            RUP => Round::TowardPositive,
            _ => Round::NearestTiesToAway,
        }
    }

    fn flags_of(st: Status) -> u8 {
        let mut f = 0;
        for (s, b) in [
            (Status::INEXACT, NX),
            (Status::UNDERFLOW, UF),
            (Status::OVERFLOW, OF),
            (Status::DIV_BY_ZERO, DZ),
            (Status::INVALID_OP, NV),
        ] {
            if st.contains(s) {
                f |= b;
            }
        }
        f
    }

    /// Compares our (boxed) result with APFloat's.
    fn check_against(fmt: FpFmt, what: &str, ours: (u64, u8), theirs: (u128, bool, u8)) {
        let p = Params::of(fmt);
        let bits = unbox(fmt, ours.0);
        let (tbits, tnan, tflags) = theirs;
        if tnan {
            assert_eq!(bits, p.canonical_nan(), "{what}");
        } else {
            assert_eq!(bits as u128, tbits, "{what}: ours {bits:#x} theirs {tbits:#x}");
        }
        let mask = if bits & !p.sign_bit() == 1 << p.frac { !UF } else { !0 };
        // APFloat also omits OF when an overflow rounds to the largest finite number (IEEE 754 and RISC-V raise
        // OF and NX whatever the rounding mode).
        let tflags = if bits & !p.sign_bit() == p.max_finite(false) && ours.1 & OF != 0 && tflags == NX {
            OF | NX
        } else {
            tflags
        };
        assert_eq!(ours.1 & mask, tflags & mask, "{what}: flags ours {:#x} theirs {tflags:#x}", ours.1);
    }

    fn apfloat_arith<T: Float>(fmt: FpFmt, rng: &mut Rng, n: usize) {
        let res = |r: StatusAnd<T>| (r.value.to_bits(), r.value.is_nan(), flags_of(r.status));
        for _ in 0..n {
            let (a, b, mut c) = (rng.finite(fmt), rng.finite(fmt), rng.finite(fmt));
            let rm = rng.mode();
            let (ta, tb) = (T::from_bits(a as u128), T::from_bits(b as u128));
            if rng.below(3) == 0 {
                // Make the addend nearly cancel the product.
                let prod = ta.mul_r(tb, Round::NearestTiesToEven).value;
                c = (prod.to_bits() as u64 ^ Params::of(fmt).sign_bit()).wrapping_add(rng.below(3)).wrapping_sub(1);
                if is_nan(unpack(Params::of(fmt), c)) || matches!(unpack(Params::of(fmt), c), Val::Inf(_)) {
                    c = 0;
                }
            }
            let tc = T::from_bits(c as u128);
            let (ra, rb, rc) = (boxed(fmt, a), boxed(fmt, b), boxed(fmt, c));
            let r = round_of(rm);
            let what = |op: &str| format!("{op}.{fmt:?} a={a:#x} b={b:#x} c={c:#x} rm={rm}");
            check_against(fmt, &what("add"), execute_soft(Add, fmt, ra, rb, 0, rm), res(ta.add_r(tb, r)));
            check_against(fmt, &what("sub"), execute_soft(Sub, fmt, ra, rb, 0, rm), res(ta.sub_r(tb, r)));
            check_against(fmt, &what("mul"), execute_soft(Mul, fmt, ra, rb, 0, rm), res(ta.mul_r(tb, r)));
            check_against(fmt, &what("div"), execute_soft(Div, fmt, ra, rb, 0, rm), res(ta.div_r(tb, r)));
            check_against(fmt, &what("fma"), execute_soft(MAdd, fmt, ra, rb, rc, rm), res(ta.mul_add_r(tb, tc, r)));
            check_against(
                fmt,
                &what("fnmadd"),
                execute_soft(NMAdd, fmt, ra, rb, rc, rm),
                res((-ta).mul_add_r(tb, -tc, r)),
            );
            // Integer conversions.
            let mut exact = false;
            for (op, signed, width) in
                [(CvtWFromF, true, 32), (CvtWuFromF, false, 32), (CvtLFromF, true, 64), (CvtLuFromF, false, 64)]
            {
                let (val, fl) = execute_soft(op, fmt, ra, 0, 0, rm);
                let (tv, tst) = if signed {
                    let t = ta.to_i128_r(width, r, &mut exact);
                    (t.value as u128, t.status)
                } else {
                    let t = ta.to_u128_r(width, r, &mut exact);
                    (t.value, t.status)
                };
                if tst.contains(Status::INVALID_OP) {
                    assert_eq!(fl, NV, "{}", what("fcvt.int"));
                } else {
                    let tv = if width == 32 { tv as u32 as i32 as i64 as u64 } else { tv as u64 };
                    assert_eq!((val, fl), (tv, flags_of(tst)), "{} {op:?}", what("fcvt.int"));
                }
            }
            // From integers.
            let x = rng.next() >> rng.below(64);
            check_against(
                fmt,
                "fcvt.f.l",
                execute_soft(CvtFromL, fmt, x, 0, 0, rm),
                res(T::from_i128_r(x as i64 as i128, r)),
            );
            check_against(
                fmt,
                "fcvt.f.lu",
                execute_soft(CvtFromLu, fmt, x, 0, 0, rm),
                res(T::from_u128_r(x as u128, r)),
            );
            check_against(
                fmt,
                "fcvt.f.w",
                execute_soft(CvtFromW, fmt, x, 0, 0, rm),
                res(T::from_i128_r(x as i32 as i128, r)),
            );
        }
    }

    #[test]
    fn random_arithmetic_matches_apfloat() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        apfloat_arith::<Single>(S, &mut rng, 100_000);
        apfloat_arith::<Double>(D, &mut rng, 100_000);
        apfloat_arith::<Half>(H, &mut rng, 100_000);
    }

    /// Zfh's conversions: to half from single and double (rounded), and back (exact).
    #[test]
    fn random_half_conversions_match_apfloat() {
        let mut rng = Rng(777);
        for _ in 0..100_000 {
            let rm = rng.mode();
            let (s, d) = (rng.finite(S), rng.finite(D));
            let mut lost = false;
            let t: StatusAnd<Half> = Single::from_bits(s as u128).convert_r(round_of(rm), &mut lost);
            let theirs = (t.value.to_bits(), t.value.is_nan(), flags_of(t.status));
            check_against(H, &format!("fcvt.h.s {s:#x} rm={rm}"), execute(CvtFromS, H, boxed(S, s), 0, 0, rm), theirs);
            let t: StatusAnd<Half> = Double::from_bits(d as u128).convert_r(round_of(rm), &mut lost);
            let theirs = (t.value.to_bits(), t.value.is_nan(), flags_of(t.status));
            check_against(H, &format!("fcvt.h.d {d:#x} rm={rm}"), execute(CvtFromD, H, d, 0, 0, rm), theirs);
            let h = rng.finite(H);
            let t: StatusAnd<Double> = Half::from_bits(h as u128).convert_r(round_of(rm), &mut lost);
            let theirs = (t.value.to_bits(), t.value.is_nan(), flags_of(t.status));
            check_against(D, &format!("fcvt.d.h {h:#x}"), execute(CvtFromH, D, boxed(H, h), 0, 0, rm), theirs);
        }
    }

    #[test]
    fn halves_are_nan_boxed_and_move_sign_extended() {
        // 1.0 in half is 0x3c00; improperly boxed it reads as the canonical NaN (0x7e00).
        assert_eq!(execute(Add, H, 0xffff_ffff_ffff_3c00, 0xffff_ffff_ffff_3c00, 0, RNE), (0xffff_ffff_ffff_4000, 0));
        assert_eq!(execute(Class, H, 0x0000_0000_0000_3c00, 0, 0, RNE).0, 1 << 9, "quiet NaN");
        assert_eq!(execute(MvXFromF, H, 0x1234_5678_9abc_8001, 0, 0, RNE).0, 0xffff_ffff_ffff_8001);
        assert_eq!(execute(MvFFromX, H, 0x1234_5678_9abc_3c00, 0, 0, RNE).0, 0xffff_ffff_ffff_3c00);
    }

    #[test]
    fn random_narrowing_matches_apfloat() {
        let mut rng = Rng(12345);
        for _ in 0..100_000 {
            let a = rng.finite(D);
            let rm = rng.mode();
            let mut lost = false;
            let t: StatusAnd<Single> = Double::from_bits(a as u128).convert_r(round_of(rm), &mut lost);
            let theirs = (t.value.to_bits(), t.value.is_nan(), flags_of(t.status));
            check_against(S, &format!("fcvt.s.d {a:#x} rm={rm}"), execute(CvtFromD, S, a, 0, 0, rm), theirs);
        }
    }

    /// Compares `r^2` with `x` exactly, for positive finite doubles.
    fn cmp_square(r: u64, x: u64) -> std::cmp::Ordering {
        let p = Params::of(D);
        let (Val::Fin { m: mr, e: er, .. }, Val::Fin { m: mx, e: ex, .. }) = (unpack(p, r), unpack(p, x)) else {
            panic!("not finite");
        };
        let (m2, e2) = (mr * mr, 2 * er);
        let len = |m: u128, e: i32| 128 - m.leading_zeros() as i32 + e;
        match len(m2, e2).cmp(&len(mx, ex)) {
            std::cmp::Ordering::Equal => {
                if e2 >= ex {
                    (m2 << (e2 - ex)).cmp(&mx)
                } else {
                    m2.cmp(&(mx << (ex - e2)))
                }
            }
            o => o,
        }
    }

    #[test]
    fn random_sqrt_is_correctly_rounded() {
        use std::cmp::Ordering::*;
        let mut rng = Rng(777);
        for i in 0..200_000 {
            let x = rng.finite(D) & !(1 << 63);
            if x == 0 {
                continue;
            }
            let rm = (i % 5) as u8;
            let (r, fl) = execute(Sqrt, D, x, 0, 0, rm);
            let what = format!("sqrt {x:#x} rm={rm} -> {r:#x}");
            let exact = cmp_square(r, x) == Equal;
            assert_eq!(fl, if exact { 0 } else { NX }, "{what}");
            match rm {
                RDN | RTZ => assert!(cmp_square(r, x) != Greater && cmp_square(r + 1, x) == Greater, "{what}"),
                RUP => assert!(cmp_square(r, x) != Less && (exact || cmp_square(r - 1, x) == Less), "{what}"),
                // Square roots are never exactly halfway, so RMM agrees with RNE and the host.
                _ => assert_eq!(r, f64::from_bits(x).sqrt().to_bits(), "{what}"),
            }
            // Singles: through the exactly-widened value and the host.
            let xs = rng.finite(S) as u32 & 0x7fff_ffff;
            let (rs, _) = execute(Sqrt, S, s(xs), 0, 0, RNE);
            assert_eq!(rs, sf(f32::from_bits(xs).sqrt()), "sqrt.s {xs:#x}");
        }
    }

    #[test]
    fn fli_gives_the_specifications_constants() {
        let host = [
            -1.0f64,
            0.0,
            1.52587890625e-05,
            3.0517578125e-05,
            0.00390625,
            0.0078125,
            0.0625,
            0.125,
            0.25,
            0.3125,
            0.375,
            0.4375,
            0.5,
            0.625,
            0.75,
            0.875,
            1.0,
            1.25,
            1.5,
            1.75,
            2.0,
            2.5,
            3.0,
            4.0,
            8.0,
            16.0,
            128.0,
            256.0,
            32768.0,
            65536.0,
            f64::INFINITY,
        ];
        for (i, v) in host.iter().enumerate().filter(|(i, _)| *i != 1) {
            assert_eq!(execute(Fli, D, i as u64, 0, 0, 0), (df(*v), 0), "fli.d {i}");
            assert_eq!(execute(Fli, S, i as u64, 0, 0, 0), (sf(*v as f32), 0), "fli.s {i}");
        }
        assert_eq!(execute(Fli, D, 1, 0, 0, 0).0, df(f64::MIN_POSITIVE));
        assert_eq!(execute(Fli, S, 1, 0, 0, 0).0, sf(f32::MIN_POSITIVE));
        assert_eq!(execute(Fli, D, 31, 0, 0, 0).0, QNAN_D);
        assert_eq!(execute(Fli, S, 31, 0, 0, 0).0, QNAN_S);
        // Half precision, as QEMU's table has it: 2^-16 and 2^-15 are subnormal, 2^16 is infinity.
        let half = [
            0xbc00u64, 0x0400, 0x0100, 0x0200, 0x1c00, 0x2000, 0x2c00, 0x3000, 0x3400, 0x3500, 0x3600, 0x3700, 0x3800,
            0x3900, 0x3a00, 0x3b00, 0x3c00, 0x3d00, 0x3e00, 0x3f00, 0x4000, 0x4100, 0x4200, 0x4400, 0x4800, 0x4c00,
            0x5800, 0x5c00, 0x7800, 0x7c00, 0x7c00, 0x7e00,
        ];
        for (i, bits) in half.iter().enumerate() {
            assert_eq!(execute(Fli, H, i as u64, 0, 0, 0), (boxed(H, *bits), 0), "fli.h {i}");
        }
    }

    #[test]
    fn fminm_fmaxm_let_any_nan_win_and_quiet_comparisons_signal_only_snans() {
        let (one, two) = (df(1.0), df(2.0));
        assert_eq!(execute(MinM, D, one, two, 0, 0), (one, 0));
        assert_eq!(execute(MaxM, D, one, two, 0, 0), (two, 0));
        assert_eq!(execute(MinM, D, df(0.0), df(-0.0), 0, 0), (df(-0.0), 0));
        assert_eq!(execute(MaxM, D, QNAN_PAYLOAD_D, two, 0, 0), (QNAN_D, 0));
        assert_eq!(execute(MinM, D, one, SNAN_D, 0, 0), (QNAN_D, NV));
        assert_eq!(execute(Min, D, one, QNAN_D, 0, 0), (one, 0), "fmin still prefers the number");
        assert_eq!(execute(MinM, S, SNAN_S, sf(3.0), 0, 0), (QNAN_S, NV));
        for (op, a, b, expected) in [(LtQ, one, two, 1), (LtQ, two, two, 0), (LeQ, two, two, 1), (LeQ, two, one, 0)] {
            assert_eq!(execute(op, D, a, b, 0, 0), (expected, 0), "{op:?}");
        }
        assert_eq!(execute(LtQ, D, QNAN_D, one, 0, 0), (0, 0));
        assert_eq!(execute(Lt, D, QNAN_D, one, 0, 0), (0, NV), "flt signals on any NaN");
        assert_eq!(execute(LeQ, D, one, SNAN_D, 0, 0), (0, NV));
        assert_eq!(execute(LeQ, S, QNAN_S, sf(1.0), 0, 0), (0, 0));
    }

    #[test]
    fn fround_and_fcvtmod_agree_with_the_host() {
        let host_round = |x: f64, rm: u8| match rm {
            RNE => x.round_ties_even(),
            RTZ => x.trunc(),
            RDN => x.floor(),
            RUP => x.ceil(),
            _ => x.round(),
        };
        let mut rng = Rng(31337);
        for i in 0..200_000 {
            let x = rng.finite(D);
            let v = f64::from_bits(x);
            let rm = (i % 5) as u8;
            let expected = host_round(v, rm);
            let inexact = if expected != v { NX } else { 0 };
            assert_eq!(execute(Round, D, x, 0, 0, rm), (df(expected), 0), "fround.d {v:e} rm={rm}");
            assert_eq!(execute(RoundNx, D, x, 0, 0, rm), (df(expected), inexact), "froundnx.d {v:e} rm={rm}");
            let xs = rng.finite(S);
            let vs = f32::from_bits(xs as u32);
            let es = host_round(f64::from(vs), rm) as f32;
            assert_eq!(execute(RoundNx, S, s(xs as u32), 0, 0, rm), (sf(es), if es != vs { NX } else { 0 }));
            // fcvtmod.w.d: the integer part modulo 2^32; NV when it does not fit in 32 signed bits.
            let t = v.trunc();
            let low = if t.abs() < 2f64.powi(100) { (t as i128) as i32 } else { 0 };
            let flags = if !(-2147483648.0..=2147483647.0).contains(&t) {
                NV
            } else if t != v {
                NX
            } else {
                0
            };
            assert_eq!(execute(CvtModWFromD, D, x, 0, 0, RTZ), (low as i64 as u64, flags), "fcvtmod.w.d {v:e}");
        }
        assert_eq!(execute(Round, D, df(-0.25), 0, 0, RNE), (df(-0.0), 0), "the sign of a zero result stays");
        assert_eq!(execute(RoundNx, D, SNAN_D, 0, 0, RNE), (QNAN_D, NV));
        assert_eq!(execute(Round, D, df(f64::NEG_INFINITY), 0, 0, RNE), (df(f64::NEG_INFINITY), 0));
        assert_eq!(execute(CvtModWFromD, D, df(f64::INFINITY), 0, 0, RTZ), (0, NV));
        assert_eq!(execute(CvtModWFromD, D, QNAN_D, 0, 0, RTZ), (0, NV));
        assert_eq!(execute(CvtModWFromD, D, df(4294967298.5), 0, 0, RTZ), (2, NV), "2^32 + 2.5");
        assert_eq!(execute(CvtModWFromD, D, df(-2147483648.0), 0, 0, RTZ), (0xffff_ffff_8000_0000, 0));
        assert_eq!(execute(CvtModWFromD, D, df(2147483648.0), 0, 0, RTZ), (0xffff_ffff_8000_0000, NV));
    }

    #[test]
    fn fast_path_agrees_with_software() {
        let mut rng = Rng(4242);
        for _ in 0..200_000 {
            for fmt in [S, D] {
                let (a, b) = (boxed(fmt, rng.finite(fmt)), boxed(fmt, rng.finite(fmt)));
                for op in [Add, Sub, Mul] {
                    assert_eq!(
                        execute(op, fmt, a, b, 0, RNE),
                        execute_soft(op, fmt, a, b, 0, RNE),
                        "{op:?} {a:#x} {b:#x}"
                    );
                }
            }
        }
    }

    /// fmadd.s results around the smallest normal number, where tininess after rounding matters. Expected values
    /// were computed exactly (rational arithmetic) from the IEEE definitions: (a, b, c, rm, result, flags).
    #[test]
    fn fma_near_smallest_normal_vectors() {
        let vectors: [(u32, u32, u32, u8, u32, u8); 50] = [
            (0xa9c164d8, 0x15dbc8fb, 0x802cfb73, 1, 0x807fffff, 3),
            (0x9c8d4641, 0x23282768, 0x80233426, 1, 0x807fffff, 3),
            (0x2b617959, 0x141a1afe, 0x003c229c, 1, 0x007ffffe, 3),
            (0x1ee87c96, 0x21478c28, 0x80353822, 0, 0x007fffff, 3),
            (0x1d238642, 0x2271e0c0, 0x0032bf85, 0, 0x007fffff, 3),
            (0x9e359eee, 0x213729c6, 0x803f06e1, 1, 0x80800000, 1),
            (0x9f346c6e, 0x20ae81d6, 0x800502cd, 2, 0x80800002, 1),
            (0x1dea3753, 0x222a7c18, 0x801bfa46, 2, 0x007fffff, 3),
            (0x9b00ddb7, 0x24d68068, 0x80140606, 2, 0x80800001, 1),
            (0x9efb121d, 0x2150d7d1, 0x004cd261, 1, 0x807fffff, 3),
            (0x998e979c, 0x26419521, 0x80142ca4, 4, 0x80800001, 1),
            (0xa56b3843, 0x1a5dbe44, 0x801a20cf, 1, 0x80800001, 1),
            (0xa0b24f3e, 0x1f1e7821, 0x80119f6c, 2, 0x80800001, 1),
            (0x9c403a96, 0x23f67d52, 0x00391666, 3, 0x80800000, 1),
            (0x23975790, 0x1c355f2a, 0x0014c6d4, 2, 0x007fffff, 3),
            (0x2317921e, 0x1ccffcbf, 0x0004db34, 0, 0x007fffff, 3),
            (0x28261c37, 0x174f2e84, 0x003cc880, 4, 0x00800000, 3),
            (0xa0e7e847, 0x1f0825c7, 0x8004aa62, 3, 0x80800000, 1),
            (0x9a2547f1, 0x258e42d4, 0x802426f3, 1, 0x80800000, 1),
            (0x26216d27, 0x1921fdac, 0x004ced32, 2, 0x007fffff, 3),
            (0x262634f1, 0x198f0b97, 0x002320e6, 4, 0x007fffff, 3),
            (0xa8ab5695, 0x17741b32, 0x002360b9, 2, 0x80800001, 1),
            (0x9df85737, 0x21e75ebe, 0x800fc6b2, 4, 0x807fffff, 3),
            (0x23adece9, 0x1bffd398, 0x002918a1, 2, 0x007fffff, 3),
            (0xa45c7fe0, 0x1b1027e5, 0x8041eadb, 4, 0x80800000, 1),
            (0xa147e5eb, 0x1efc55dd, 0x0045095f, 1, 0x80800000, 1),
            (0xaa82f6f3, 0x15796bfa, 0x80006691, 2, 0x80800001, 1),
            (0xa976832b, 0x16c9f088, 0x0042749a, 2, 0x80800001, 1),
            (0x9ee8916d, 0x21599c8f, 0x0045b17f, 4, 0x80800001, 1),
            (0x9f2450d1, 0x20aa8a49, 0x80128993, 0, 0x80800000, 1),
            (0xaceaa87c, 0x132bfcd6, 0x001da64d, 4, 0x80800000, 1),
            (0x9f454cfe, 0x2007123c, 0x804bf32c, 1, 0x807fffff, 3),
            (0x1a3812e2, 0x25ae376b, 0x0002bb51, 0, 0x00800000, 3),
            (0xa3222ed1, 0x1c1c5f47, 0x804e778f, 4, 0x80800001, 1),
            (0xa78920da, 0x186a5d89, 0x800275df, 4, 0x80800001, 1),
            (0x20926d15, 0x1f345158, 0x0018dcc6, 3, 0x00800000, 1),
            (0x1cc74d9d, 0x2368f888, 0x80355fd4, 4, 0x007fffff, 3),
            (0xa24d2766, 0x1d98463b, 0x8005f854, 1, 0x80800000, 1),
            (0xab6b4a43, 0x14e8c422, 0x0055ef90, 1, 0x80800000, 1),
            (0x1f61fbaa, 0x207a1eb9, 0x00119a8e, 0, 0x007fffff, 3),
            (0xa361c12c, 0x1c1ba089, 0x803b613d, 4, 0x80800001, 1),
            (0xa6e03798, 0x18ede01c, 0x8017d420, 3, 0x80800000, 1),
            (0x9e61394c, 0x21e246b7, 0x004712cb, 2, 0x80800001, 1),
            (0xa36a5daa, 0x1c85092d, 0x800634f1, 1, 0x80800000, 1),
            (0x1cfa1875, 0x2306161d, 0x8002fe68, 0, 0x00800000, 3),
            (0x9922edbf, 0x26e47398, 0x0011654f, 3, 0x80800000, 1),
            (0x2889694b, 0x173ee395, 0x001989b1, 2, 0x007fffff, 3),
            (0x2c4b0e62, 0x13fe0502, 0x80497c3e, 1, 0x00800000, 1),
            (0xaa4cfa01, 0x15c847ec, 0x00205ce7, 4, 0x80800000, 1),
            (0x2406d04b, 0x1bf6dec5, 0x80020179, 0, 0x007fffff, 3),
        ];
        for (a, b, c, rm, r, fl) in vectors {
            assert_eq!(execute(MAdd, S, s(a), s(b), s(c), rm), (s(r), fl), "{a:#x} {b:#x} {c:#x} rm={rm}");
        }
    }

    #[test]
    fn dest_int_ops() {
        for op in [Eq, Lt, Le, Class, CvtWFromF, CvtWuFromF, CvtLFromF, CvtLuFromF, MvXFromF] {
            assert!(is_dest_int(op));
        }
        for op in [Add, Sqrt, Min, SgnJ, MAdd, CvtFromW, CvtFromLu, MvFFromX, CvtFromS, CvtFromH] {
            assert!(!is_dest_int(op));
        }
    }
}
