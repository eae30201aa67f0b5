/**
 * Profiles and the stream → profile mapping, persisted in SQLite (`node:sqlite`) at
 * `<dataDir>/transcoder.db`. The built-in profiles (`default`, `passthrough`) live in code, not
 * in the table, so an upgrade that improves them reaches every install; they cannot be
 * replaced or deleted.
 */
import type { DatabaseSync } from 'node:sqlite';
import { OnairError } from '@onair/shared/errors';
import { openDatabase } from '@onair/service/sqlite';
import { BUILTIN_PROFILES, DEFAULT_PROFILE, isBuiltinProfile, parseProfile, type Profile } from './profile';

interface ProfileRow {
  name: string;
  body: string;
}

export interface ProfileView extends Profile {
  builtin: boolean;
}

export class ProfileStore {
  private readonly db: DatabaseSync;

  /** `path` is a file, or `:memory:` for tests. */
  constructor(path: string) {
    this.db = openDatabase(
      path,
      `CREATE TABLE IF NOT EXISTS profiles (
        name TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS stream_profiles (
        stream TEXT PRIMARY KEY,
        profile TEXT NOT NULL
      );`,
    );
  }

  list(): ProfileView[] {
    const rows = this.db.prepare('SELECT name, body FROM profiles ORDER BY name').all() as unknown as ProfileRow[];
    return [...BUILTIN_PROFILES.map((p) => ({ ...p, builtin: true })), ...rows.map((row) => ({ ...fromRow(row), builtin: false }))];
  }

  find(name: string): Profile | undefined {
    const builtin = BUILTIN_PROFILES.find((p) => p.name === name);
    if (builtin) return builtin;
    const row = this.db.prepare('SELECT name, body FROM profiles WHERE name = ?').get(name) as unknown as ProfileRow | undefined;
    return row && fromRow(row);
  }

  get(name: string): Profile {
    const found = this.find(name);
    if (!found) throw new OnairError('profile_not_found', `No profile named "${name}".`);
    return found;
  }

  /** Creates (`create`) or replaces (`replace`) a profile; the body is validated here. */
  save(value: unknown, mode: 'create' | 'replace'): Profile {
    const profile = parseProfile(value);
    if (isBuiltinProfile(profile.name)) throw new OnairError('invalid_profile', `"${profile.name}" is a built-in profile and cannot be changed; save a copy under another name.`);
    const exists = this.find(profile.name) !== undefined;
    if (mode === 'create' && exists) throw new OnairError('invalid_profile', `A profile named "${profile.name}" already exists; use PUT /api/profiles/${profile.name} to replace it.`);
    if (mode === 'replace' && !exists) throw new OnairError('profile_not_found', `No profile named "${profile.name}".`);
    this.db
      .prepare('INSERT INTO profiles (name, body, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at')
      .run(profile.name, JSON.stringify(profile), new Date().toISOString());
    return profile;
  }

  delete(name: string): void {
    if (isBuiltinProfile(name)) throw new OnairError('invalid_profile', `"${name}" is a built-in profile and cannot be deleted.`);
    this.get(name);
    const users = this.streamsUsing(name);
    if (users.length > 0) {
      throw new OnairError('profile_in_use', `Profile "${name}" is used by ${users.join(', ')}; give those streams another profile first.`, { extensions: { streams: users } });
    }
    this.db.prepare('DELETE FROM profiles WHERE name = ?').run(name);
  }

  /** The profile name chosen for a stream (`default` unless set). */
  profileNameFor(stream: string): string {
    const row = this.db.prepare('SELECT profile FROM stream_profiles WHERE stream = ?').get(stream) as { profile: string } | undefined;
    return row?.profile ?? DEFAULT_PROFILE.name;
  }

  /** The profile for a stream; falls back to `default` if its chosen profile was removed behind our back. */
  profileFor(stream: string): Profile {
    return this.find(this.profileNameFor(stream)) ?? DEFAULT_PROFILE;
  }

  setProfileFor(stream: string, profile: string): Profile {
    const found = this.get(profile);
    this.db.prepare('INSERT INTO stream_profiles (stream, profile) VALUES (?, ?) ON CONFLICT(stream) DO UPDATE SET profile = excluded.profile').run(stream, profile);
    return found;
  }

  streamsUsing(profile: string): string[] {
    return (this.db.prepare('SELECT stream FROM stream_profiles WHERE profile = ? ORDER BY stream').all(profile) as Array<{ stream: string }>).map((r) => r.stream);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function fromRow(row: ProfileRow): Profile {
  // Stored bodies were validated on the way in; re-parse so a schema change fails loudly here.
  return parseProfile(JSON.parse(row.body));
}
