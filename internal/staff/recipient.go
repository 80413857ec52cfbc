package staff

import (
	"context"
	"fmt"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/db"
	"jukinet/internal/resident"
)

// Recipient is a body the node provides identity information to (a 別表
// recipient of a prefecture or the national node) and the affairs it may
// ask for.
type Recipient struct {
	ID       string
	Name     string
	Category string // 別表第一 …
	Affairs  []string
	AddedAt  time.Time
}

// What a recipient's text may hold (docs/fields.md).
var (
	FieldRecipientName     = resident.Field{Name: "name", Japanese: "提供先の名称", Class: resident.ClassText, Max: 100}
	FieldRecipientCategory = resident.Field{Name: "category", Japanese: "提供先の区分", Class: resident.ClassText, Max: 100}
)

// AddRecipient registers a recipient body (logged; manage-peers).
func (s *Store) AddRecipient(ctx context.Context, who Who, r Recipient) error {
	if err := checkID("id", "recipient id", "提供先ID", r.ID); err != nil {
		return err
	}
	if err := required([2]string{"name", r.Name}, [2]string{"category", r.Category}); err != nil {
		return err
	}
	if err := resident.CheckValues(resident.Value{Field: FieldRecipientName, Text: r.Name}, resident.Value{Field: FieldRecipientCategory, Text: r.Category}); err != nil {
		return err
	}
	if len(r.Affairs) == 0 {
		return apperr.New(apperr.Invalid, "a recipient needs the affairs it may ask for", "提供先が利用できる事務を指定してください")
	}
	for _, a := range r.Affairs {
		if err := s.checkAffair(a); err != nil {
			return err
		}
	}
	return s.do(ctx, change{who: who, action: ActManagePeers, resource: Resource{Kind: "node", ID: s.node},
		detail: fmt.Sprintf("add recipient %s (%s, %s) for %s", r.ID, r.Name, r.Category, strings.Join(r.Affairs, " ")),
		work: func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := refuseIfAny(ctx, tx, apperr.New(apperr.Conflict, "recipient "+r.ID+" exists", "提供先 "+r.ID+" は既に登録されています"),
				`SELECT COUNT(*) FROM recipient WHERE id = ?`, r.ID); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO recipient (id, name, category, affairs, added_at, added_seq) VALUES (?, ?, ?, ?, ?, ?)`,
				r.ID, r.Name, r.Category, strings.Join(r.Affairs, " "), now, seq)
			return err
		}})
}

// Recipients lists the registered recipients in use.
func (s *Store) Recipients(ctx context.Context) ([]Recipient, error) { return recipients(ctx, s.db) }

func recipients(ctx context.Context, q db.Querier) ([]Recipient, error) {
	rows, err := q.Query(ctx, `SELECT id, name, category, affairs, added_at FROM recipient WHERE removed_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list recipients: %w", err)
	}
	defer rows.Close()
	var out []Recipient
	for rows.Next() {
		var r Recipient
		var affairs string
		if err := rows.Scan(&r.ID, &r.Name, &r.Category, &affairs, &r.AddedAt); err != nil {
			return nil, fmt.Errorf("list recipients: %w", err)
		}
		r.Affairs = strings.Fields(affairs)
		out = append(out, r)
	}
	return out, rows.Err()
}
