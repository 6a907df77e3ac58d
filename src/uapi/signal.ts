/**
 * Signal numbers (x86/arm generic) used by the simulator: a process can be sent a signal, and a blocked
 * syscall reacts as the kernel's signal delivery decides (rule SIG-1).
 */

/** Hangup. */
export const SIGHUP = 1;
/** Interrupt from keyboard. */
export const SIGINT = 2;
/** Kill: cannot be caught. */
export const SIGKILL = 9;
/** User-defined signal 1. */
export const SIGUSR1 = 10;
/** Invalid memory reference. */
export const SIGSEGV = 11;
/** User-defined signal 2. */
export const SIGUSR2 = 12;
/** Alarm clock. */
export const SIGALRM = 14;
/** Termination. */
export const SIGTERM = 15;

/** Signal names by number, as strace prints them. */
export const SIGNAL_NAMES: Readonly<Record<number, string>> = {
  [SIGHUP]: 'SIGHUP',
  [SIGINT]: 'SIGINT',
  [SIGKILL]: 'SIGKILL',
  [SIGUSR1]: 'SIGUSR1',
  [SIGSEGV]: 'SIGSEGV',
  [SIGUSR2]: 'SIGUSR2',
  [SIGALRM]: 'SIGALRM',
  [SIGTERM]: 'SIGTERM',
};

/** `SA_RESTART`: restart a syscall the handled signal interrupted instead of failing it with EINTR. */
export const SA_RESTART = 0x10000000;
