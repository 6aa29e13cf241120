// spinlock.h: the simplest lock that works between CPUs.
//
// XCHG with a memory operand is atomic: the CPU locks the bus or the cache
// line for it, with or without a LOCK prefix (SDM Vol. 3A 8.1.2.1). The
// GCC builtins emit it and keep the compiler from moving memory accesses
// across (acquire on taking, release on letting go). While the lock is
// taken, waiters only read it (no bus-locking writes) and PAUSE, which
// tells the CPU this is a spin-wait loop (SDM Vol. 2B "PAUSE").
#ifndef SPINLOCK_H
#define SPINLOCK_H

#include <stdint.h>

struct spinlock {
	volatile uint32_t locked;
};

static inline void spin_lock(struct spinlock *lock)
{
	while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE))
		while (lock->locked)
			__asm__ volatile("pause");
}

static inline void spin_unlock(struct spinlock *lock)
{
	__atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
}

#endif
