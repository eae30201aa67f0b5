import { afterEach, describe, expect, it } from 'vitest';
import { ProfileStore } from './profile-store';

const custom = { name: 'mobile', rungs: [{ name: '360p', width: 640, height: 360, videoKbps: 700 }] };
let store: ProfileStore;
afterEach(() => store.close());

describe('ProfileStore', () => {
  it('lists the built-ins first, then stored profiles', () => {
    store = new ProfileStore(':memory:');
    store.save(custom, 'create');
    expect(store.list().map((p) => [p.name, p.builtin])).toEqual([['default', true], ['passthrough', true], ['mobile', false]]);
  });

  it('creates, replaces and deletes', () => {
    store = new ProfileStore(':memory:');
    store.save(custom, 'create');
    expect(() => store.save(custom, 'create')).toThrow(/already exists/);
    store.save({ ...custom, audioKbps: 64 }, 'replace');
    expect(store.get('mobile').audioKbps).toBe(64);
    store.delete('mobile');
    expect(store.find('mobile')).toBeUndefined();
    expect(() => store.get('mobile')).toThrow(expect.objectContaining({ code: 'profile_not_found' }));
  });

  it('refuses to change or delete a built-in', () => {
    store = new ProfileStore(':memory:');
    expect(() => store.save({ ...custom, name: 'default' }, 'replace')).toThrow(/built-in/);
    expect(() => store.delete('passthrough')).toThrow(expect.objectContaining({ code: 'invalid_profile' }));
  });

  it('maps streams to profiles, defaulting to "default", and refuses to delete a profile in use', () => {
    store = new ProfileStore(':memory:');
    store.save(custom, 'create');
    expect(store.profileFor('demo').name).toBe('default');
    store.setProfileFor('demo', 'mobile');
    expect(store.profileFor('demo').name).toBe('mobile');
    expect(() => store.delete('mobile')).toThrow(expect.objectContaining({ code: 'profile_in_use', status: 409 }));
    expect(() => store.setProfileFor('demo', 'nope')).toThrow(expect.objectContaining({ code: 'profile_not_found' }));
    store.setProfileFor('demo', 'passthrough');
    store.delete('mobile');
  });
});
