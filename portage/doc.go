// Package portage keeps a Portage repository on its last verified
// snapshot: it is the logic behind the hooks 'treelog portage install'
// puts in /etc/portage.
//
// What Portage does with hooks (lib/portage/sync/controller.py and
// lib/portage/emaint/modules/sync/sync.py):
//
//   - After syncing a repository, Portage runs every executable in
//     /etc/portage/repo.postsync.d, in name order, with the repository's
//     name, sync URI and location as arguments, as the user who runs
//     emerge or emaint (not the sync user FEATURES=usersync drops to). It
//     runs them when nothing changed and when the sync failed too, and
//     ignores their exit status. The new tree is already in place.
//   - After all repositories, it runs every executable in
//     /etc/portage/postsync.d without arguments; if one exits non-zero,
//     `emaint sync` and `emerge --sync` exit 1.
//
// So the repository hook cannot stop the new tree from being put in
// place, but it can take it back: it verifies a hard-linked copy of the
// tree (the staging copy: what was verified is exactly what is kept), and
// if that copy does not verify it makes the live tree the last verified
// snapshot again. The global hook then reports every repository that did
// not verify, and fails the sync.
package portage
