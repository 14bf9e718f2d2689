//! `-drive` options: virtio-blk devices in the virt board's virtio slots.

use crate::cli::{self, MachineArgs};
use anyhow::Result;
use rewind_machines::virt::VirtConfig;

/// Attaches the drives given on the command line (filled in when virtio lands).
pub fn attach(args: &MachineArgs, _config: &mut VirtConfig) -> Result<()> {
    if let Some(d) = args.drives.first() {
        let _spec = cli::parse_drive(d)?;
        anyhow::bail!("-drive: virtio-blk is not available yet");
    }
    Ok(())
}
