package core

import (
	"fmt"
	"io"
)

// writeRecoverNotice writes note to dst, formatted as the WithNotices
// among opts says, if there is such an option, it is not nil, and note
// recovers records. It is Recover's notice: New writes its own through the
// writer goroutine's sink calls (see recoverSpool).
func writeRecoverNotice(dst io.Writer, note Notice, opts []Option) error {
	var c config
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	if !c.noticeSet || c.notice == nil || note.Records == 0 {
		return nil
	}
	p, err := safeFormat(c.notice, note)
	if err == nil && len(p) > 0 {
		_, err = dst.Write(p)
	}
	if err != nil {
		return fmt.Errorf("asynclog: writing the notice: %w", err)
	}
	return nil
}
