//! Placeholder until the floating-point module lands: same interface, every operation raises NV.
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
    MAdd,
    MSub,
    NMSub,
    NMAdd,
    Eq,
    Lt,
    Le,
    Class,
    CvtWFromF,
    CvtWuFromF,
    CvtLFromF,
    CvtLuFromF,
    CvtFromW,
    CvtFromWu,
    CvtFromL,
    CvtFromLu,
    MvXFromF,
    MvFFromX,
    CvtFromOther,
}
pub const NX: u8 = 1;
pub const UF: u8 = 2;
pub const OF: u8 = 4;
pub const DZ: u8 = 8;
pub const NV: u8 = 16;
pub fn execute(_op: FpOp, _fmt: FpFmt, _a: u64, _b: u64, _c: u64, _rm: u8) -> (u64, u8) {
    (0, NV)
}
pub fn is_dest_int(op: FpOp) -> bool {
    use FpOp::*;
    matches!(op, Eq | Lt | Le | Class | CvtWFromF | CvtWuFromF | CvtLFromF | CvtLuFromF | MvXFromF)
}
