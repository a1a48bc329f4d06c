//go:build linux || darwin || freebsd

package core

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReview2SpoolLinks: the spool checks against links an attacker can
// make. A hard link to another user's forged spool is the same inode, so
// the check on the open file sees that user as its owner and refuses it,
// leaving it unchanged. A symbolic link in the last component is refused
// by O_NOFOLLOW, also when it points at a directory. (A symbolic link in
// an earlier component is followed: what it leads to must still be a
// regular file of this user, 0600, so another user can make it neither
// forge records nor have a file of theirs written; and in a sticky,
// world-writable directory such as /tmp, Linux's protected_symlinks
// refuses to follow another user's link anyway.)
func TestReview2SpoolLinks(t *testing.T) {
	t.Run("hard link to another user's spool", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "theirs")
		forgedSpool(t, target)
		if err := os.Chown(target, nobody, nobody); err != nil {
			t.Skipf("cannot give a file to another user: %v", err)
		}
		path := filepath.Join(dir, "spool")
		require.NoError(t, os.Link(target, path))
		requireRefused(t, path, fmt.Sprintf("refused: owned by uid %d", nobody))
	})
	t.Run("symlink to a directory", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "spool")
		require.NoError(t, os.Symlink(t.TempDir(), path))
		requireRefused(t, path, "refused: a symbolic link, not a regular file")
	})
}
