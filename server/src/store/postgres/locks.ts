/**
 * Advisory lock keys (PostgreSQL §9.27.10), as (class, object) pairs of
 * int4 so that they cannot collide with another application's single-key
 * locks. The class spells "VIGL" in ASCII.
 */
export const LOCK_CLASS = 0x5649474c;

export const LockId = {
  /** Held (per session) while migrating: concurrent starts migrate once. */
  migrate: 1,
  /** Serializes audit appends: the next seq and prevHash are read and written under it. */
  audit: 2,
  /** Serializes enrollments: EK and device-id uniqueness are decided under it, as SQLite's write lock does. */
  enroll: 3,
  /** Serializes new policy versions (version = latest + 1). */
  policy: 4,
} as const;

/** Per-device locks (boot log rotation) use this class with `hashtext(device id)` as the object. */
export const DEVICE_LOCK_CLASS = 0x5647_4c44; // "VGLD"
