"""A tiny seccomp filter that keeps the sandbox away from the kernel keyrings.

Namespaces do not cover keyrings: a process inherits its parent's session keyring, which
links the user's keyring (Kerberos tickets, ecryptfs and VPN keys live there), and keys
are checked against the kernel uid that the sandbox shares with the user. So `add_key`,
`keyctl` and `request_key` fail with EPERM inside the sandbox; everything else is allowed
(the other walls are the namespaces, the read-only mounts and the dropped capabilities).

The program is classic BPF in the layout bwrap's `--seccomp FD` reads (struct sock_filter
records). It covers the native ABI and the compat ABIs a 64-bit process can still call
(i386 via int 0x80, x32 on x86-64, arm32 on arm64); on other machines there is no filter
and the verdict says so.
"""

from __future__ import annotations

import errno
import platform
import struct

# <linux/filter.h>, <linux/seccomp.h>, <linux/audit.h>
_LD_W_ABS = 0x20          # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15             # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35             # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06             # BPF_RET | BPF_K
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_NR_OFFSET, _ARCH_OFFSET = 0, 4  # struct seccomp_data
_X32_BIT = 0x40000000

# arch token -> syscall numbers of add_key, request_key, keyctl
_KEYRING_CALLS = {
    0xC000003E: (248, 249, 250),   # AUDIT_ARCH_X86_64
    0x40000003: (286, 287, 288),   # AUDIT_ARCH_I386
    0xC00000B7: (217, 218, 219),   # AUDIT_ARCH_AARCH64
    0x40000028: (309, 310, 311),   # AUDIT_ARCH_ARM
}
_MACHINES = {"x86_64": (0xC000003E, 0x40000003), "amd64": (0xC000003E, 0x40000003),
             "aarch64": (0xC00000B7, 0x40000028), "arm64": (0xC00000B7, 0x40000028)}


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _arch_block(arch: int, calls: tuple[int, ...]) -> list[bytes]:
    """For one arch: load the syscall number, refuse the keyring calls, allow the rest."""
    block = [_op(_LD_W_ABS, _NR_OFFSET)]
    if arch == 0xC000003E:  # x32 syscalls share the x86-64 arch token: nobody needs them
        block.append(_op(_JGE_K, _X32_BIT, jt=0, jf=1))
        block.append(_op(_RET_K, _RET_ERRNO | errno.ENOSYS))
    for index, number in enumerate(calls):
        remaining = len(calls) - index - 1
        # match: jump over the remaining compares and the allow to the refusal
        block.append(_op(_JEQ_K, number, jt=remaining + 1, jf=0))
    block.append(_op(_RET_K, _RET_ALLOW))
    block.append(_op(_RET_K, _RET_ERRNO | errno.EPERM))
    return block


def keyring_filter(machine: str | None = None) -> bytes | None:
    """The BPF program for this machine, or None when its architecture is not covered."""
    arches = _MACHINES.get((machine or platform.machine()).lower())
    if arches is None:
        return None
    blocks = [_arch_block(arch, _KEYRING_CALLS[arch]) for arch in arches]
    program: list[bytes] = [_op(_LD_W_ABS, _ARCH_OFFSET)]
    # a dispatch compare per arch, each jumping to its block; an unknown arch is allowed (it cannot occur
    # for a process of this machine's ABIs, and refusing every call would only hide a misconfiguration)
    offsets, position = [], 0
    for block in blocks:
        offsets.append(position)
        position += len(block)
    dispatch = len(arches) + 1  # compares + the fall-through allow
    for index, arch in enumerate(arches):
        jump = dispatch - index - 1 + offsets[index]
        program.append(_op(_JEQ_K, arch, jt=jump, jf=0))
    program.append(_op(_RET_K, _RET_ALLOW))
    for block in blocks:
        program += block
    return b"".join(program)
