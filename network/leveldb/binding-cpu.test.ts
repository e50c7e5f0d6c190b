/**
 * missingCpuFlags on /proc/cpuinfo as Linux prints it for real CPUs, stampFlags on what the install writes; the
 * refusal of a process started on a CPU that lacks what its build needs: test/node-daemon.test.ts and
 * scripts/ledger.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { HARDWARE_CRC_FLAGS, missingCpuFlags, stampFlags } from './binding-cpu.ts';

/** The head of a processor's block in /proc/cpuinfo: a VM on QEMU's default CPU model, qemu64 (no SSSE3 or SSE4). */
const QEMU64 = `processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: QEMU Virtual CPU version 2.5+
flags\t\t: fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 syscall nx lm rep_good nopl cpuid extd_apicid tsc_known_freq pni cx16 x2apic hypervisor lahf_lm cmp_legacy 3dnowprefetch vmmcall
bugs\t\t: fxsave_leak sysret_ss_attrs spectre_v1 spectre_v2
`;
/** QEMU's Nehalem model: x86-64-v2, SSE4.2 and POPCNT, no AVX. */
const NEHALEM = QEMU64.replace(' pni cx16 ', ' pni ssse3 cx16 sse4_1 sse4_2 popcnt ');

describe('missingCpuFlags', () => {
  it("names the CPU flag of the build's -msse4.2 that the CPU does not list", () => {
    expect(missingCpuFlags(HARDWARE_CRC_FLAGS, QEMU64)).toEqual(['sse4_2']);
    expect(missingCpuFlags(HARDWARE_CRC_FLAGS, NEHALEM)).toEqual([]);
  });

  it('takes the instruction-set options alone, each as /proc/cpuinfo spells it', () => {
    const flags = '-O2 -m64 -march=x86-64-v2 -mtune=generic -msse4.1 -mavx2 -mbmi2 -DLEVELDB_PLATFORM_POSIX_SSE';
    expect(missingCpuFlags(flags, NEHALEM)).toEqual(['avx2', 'bmi2']);
    expect(missingCpuFlags(flags, QEMU64)).toEqual(['sse4_1', 'avx2', 'bmi2']);
  });

  it('takes a cpuinfo without a flags line for a CPU with none', () => {
    expect(missingCpuFlags(HARDWARE_CRC_FLAGS, 'processor\t: 0\n')).toEqual(['sse4_2']);
    expect(missingCpuFlags('-DNDEBUG', '')).toEqual([]);
  });
});

describe('stampFlags', () => {
  it("reads the flags of scripts/leveldb-build.ts's stamp, and nothing from one that does not parse", () => {
    expect(stampFlags(JSON.stringify({ version: '3.0.0', flags: HARDWARE_CRC_FLAGS }))).toBe(HARDWARE_CRC_FLAGS);
    expect(stampFlags('{"version":"3.0.0","fla')).toBeUndefined();
    expect(stampFlags(JSON.stringify({ version: '3.0.0' }))).toBeUndefined();
  });
});
