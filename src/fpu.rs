//! RISC-V F/D floating-point arithmetic (unprivileged spec 20191213, chapters 11 and 12).
//!
//! Everything is computed in software, bit-exact, with the exact RISC-V exception flags: every operation first
//! computes its exact result as `±m·2^e` (or an interval `(m, m+1)·2^e` when some low bits are known to be
//! non-zero, the "sticky" case), then a single function, [`round_pack`], rounds it to the destination format in
//! any of the five rounding modes, detecting tininess *after* rounding as RISC-V specifies. Any NaN result is
//! the canonical NaN. Single-precision values live NaN-boxed in the 64-bit f registers.
//!
//! A fast path through the host's f32/f64 arithmetic is taken for add/sub/mul in round-to-nearest-even when the
//! operands and result are in a range where the host result and its flags are provably the same (see
//! [`fast_path`]).

/// Floating-point format of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FpFmt {
    S,
    D,
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
    /// fmv.x.w (S: sign-extend low 32 bits) / fmv.x.d
    MvXFromF,
    /// fmv.w.x (S: NaN-box low 32 bits) / fmv.d.x
    MvFFromX,
    /// fcvt.s.d when fmt=S (source is double), fcvt.d.s when fmt=D (source is single)
    CvtFromOther,
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
pub const RMM: u8 = 4;

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
    )
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
const CANONICAL_NAN_S: u64 = 0x7fc0_0000;

/// Extracts the `fmt` value from a 64-bit f register: an improperly NaN-boxed single is the canonical NaN.
fn unbox(fmt: FpFmt, reg: u64) -> u64 {
    match fmt {
        FpFmt::D => reg,
        FpFmt::S => {
            if reg & BOX == BOX {
                reg & 0xffff_ffff
            } else {
                CANONICAL_NAN_S
            }
        }
    }
}

/// Makes the 64-bit f register value of a `fmt` value (NaN-boxing singles).
fn boxed(fmt: FpFmt, bits: u64) -> u64 {
    match fmt {
        FpFmt::D => bits,
        FpFmt::S => BOX | (bits & 0xffff_ffff),
    }
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
    let ((sa, ma, ea), (sb, mb, eb)) = if ea >= eb { ((sa, ma, ea), (sb, mb, eb)) } else { ((sb, mb, eb), (sa, ma, ea)) };
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
        (Val::NaN { .. }, _) | (_, Val::NaN { .. }) => {
            nan_result(p, if is_snan(a) || is_snan(b) { NV } else { 0 })
        }
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
        (Val::NaN { .. }, _) | (_, Val::NaN { .. }) => {
            nan_result(p, if is_snan(a) || is_snan(b) { NV } else { 0 })
        }
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
        (Val::NaN { .. }, _) | (_, Val::NaN { .. }) => {
            nan_result(p, if is_snan(a) || is_snan(b) { NV } else { 0 })
        }
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
    let inf_times_zero =
        matches!((a, b), (Val::Inf(_), Val::Zero(_)) | (Val::Zero(_), Val::Inf(_)));
    if is_snan(a) || is_snan(b) || is_snan(c) || inf_times_zero {
        return nan_result(p, NV);
    }
    if is_nan(a) || is_nan(b) || is_nan(c) {
        return nan_result(p, 0);
    }
    let c = if neg_c { neg(c) } else { c };
    // The product, exactly.
    let sp = match (a, b) {
        (Val::Inf(x) | Val::Zero(x) | Val::Fin { sign: x, .. }, Val::Inf(y) | Val::Zero(y) | Val::Fin { sign: y, .. }) => {
            (x != y) ^ neg_prod
        }
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

fn compare(op: FpOp, p: Params, x: u64, y: u64) -> (u64, u8) {
    let (a, b) = (unpack(p, x), unpack(p, y));
    if is_nan(a) || is_nan(b) {
        let nv = op != FpOp::Eq || is_snan(a) || is_snan(b);
        return (0, if nv { NV } else { 0 });
    }
    let (ka, kb) = (ordered(p, x), ordered(p, y));
    let r = match op {
        FpOp::Eq => ka == kb,
        FpOp::Lt => ka < kb,
        _ => ka <= kb,
    };
    (r as u64, 0)
}

fn min_max(is_max: bool, p: Params, x: u64, y: u64) -> (u64, u8) {
    let (a, b) = (unpack(p, x), unpack(p, y));
    let flags = if is_snan(a) || is_snan(b) { NV } else { 0 };
    let r = match (is_nan(a), is_nan(b)) {
        (true, true) => p.canonical_nan(),
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
    let (lo, hi): (i128, i128) = if signed {
        (-(1i128 << (width - 1)), (1i128 << (width - 1)) - 1)
    } else {
        (0, (1i128 << width) - 1)
    };
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
        FpFmt::D => {
            let (r, exact) = body!(f64, f64::from_bits(a), f64::from_bits(b), f64::from_bits(0x0400_0000_0000_0000));
            (r.to_bits(), exact)
        }
        FpFmt::S => {
            if a & BOX != BOX || b & BOX != BOX {
                return None;
            }
            let (r, exact) = body!(f32, f32::from_bits(a as u32), f32::from_bits(b as u32), f32::from_bits(0x2000_0000));
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
        FpOp::Min => to_f(min_max(false, p, fa(), fb())),
        FpOp::Max => to_f(min_max(true, p, fa(), fb())),
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
        FpOp::Eq | FpOp::Lt | FpOp::Le => compare(op, p, fa(), fb()),
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
        FpOp::MvXFromF => match fmt {
            FpFmt::S => (a as u32 as i32 as i64 as u64, 0),
            FpFmt::D => (a, 0),
        },
        FpOp::MvFFromX => (boxed(fmt, a), 0),
        FpOp::CvtFromOther => {
            let (src_fmt, sp) = match fmt {
                FpFmt::S => (FpFmt::D, Params::of(FpFmt::D)),
                FpFmt::D => (FpFmt::S, Params::of(FpFmt::S)),
            };
            to_f(match unpack(sp, unbox(src_fmt, a)) {
                Val::NaN { signaling } => nan_result(p, if signaling { NV } else { 0 }),
                Val::Inf(s) => (p.inf(s), 0),
                Val::Zero(s) => (p.zero(s), 0),
                Val::Fin { sign, m, e } => round_pack(p, sign, m, e, false, rm),
            })
        }
    }
}
