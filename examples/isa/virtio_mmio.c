/* The virtio-mmio transports of the virt board: each of the eight slots answers
 * with the magic "virt", QEMU's vendor id, a version of 1 (legacy, QEMU's
 * default) or 2 (modern, -global virtio-mmio.force-legacy=false), the same in
 * every slot, and device id 0 where no device sits. One line per slot
 * (`slot N version V device D`) lets a test compare the board with QEMU's. */
#include "common.h"

#define VIRTIO_MMIO_BASE 0x10001000UL
#define VIRTIO_MMIO_SLOTS 8

int main(void) {
    u32 first_version = MMIO32(VIRTIO_MMIO_BASE + 0x004);
    CHECK(first_version == 1 || first_version == 2);
    for (u64 n = 0; n < VIRTIO_MMIO_SLOTS; n++) {
        u64 base = VIRTIO_MMIO_BASE + n * 0x1000;
        CHECK_EQ(MMIO32(base + 0x000), 0x74726976);
        CHECK_EQ(MMIO32(base + 0x00c), 0x554d4551);
        CHECK_EQ(MMIO32(base + 0x004), first_version);
        uart_puts("slot ");
        uart_putdec(n);
        uart_puts(" version ");
        uart_putdec(MMIO32(base + 0x004));
        uart_puts(" device ");
        uart_putdec(MMIO32(base + 0x008));
        uart_puts("\n");
    }
    finish();
}
