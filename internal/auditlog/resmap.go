package auditlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db"
)

// The resident map (住民別索引) commits, in every signed checkpoint, to the
// entries that concern each resident, so that a resident's disclosure can
// prove not only that each entry it lists is in the log but that none was
// left out (docs/design/resident-map.md).
//
// For each resident the map holds a leaf: how many entries of the tree
// concern them (Entries) and a hash chain over those entries, in the order
// of the log (Chain: H(prev ‖ seq ‖ leaf hash), from 32 zero bytes). The
// leaves are the keys of a sparse Merkle tree of depth 256, keyed by
// SHA-256 of the 住民票コード; a subtree holding one leaf is that leaf's
// hash (compacted), an empty one 32 zero bytes. The root goes into the
// checkpoint's extension line. A verifier given a resident's entries (each
// with its inclusion proof), the path of the resident's leaf to the root
// and the signed checkpoint recomputes the chain and the root: an entry
// left out changes the chain, a false count or chain the root.
//
// What stops the node from committing a false map is that anyone holding
// the log can recompute it: `audit verify` rebuilds the map from the
// entries and compares its root with the latest checkpoint's.

// MapHash is a hash of the resident map.
type MapHash [sha256.Size]byte

// The domain separation of the map's hashes.
const (
	mapKeyDomain   = "jukinet/resident-map/v1 key\x00"
	mapTagLeaf     = 0x00
	mapTagInterior = 0x01
	mapTagChain    = 0x02
	mapTagValue    = 0x03
	mapDepth       = 8 * sha256.Size
)

// ResidentKey is a resident's key in the map.
func ResidentKey(code string) MapHash {
	return sha256.Sum256([]byte(mapKeyDomain + code))
}

// ChainNext extends a resident's chain by the entry seq with leaf hash leaf.
func ChainNext(prev MapHash, seq int64, leaf tlog.Hash) MapHash {
	var b [1 + 32 + 8 + 32]byte
	b[0] = mapTagChain
	copy(b[1:], prev[:])
	binary.BigEndian.PutUint64(b[33:], uint64(seq))
	copy(b[41:], leaf[:])
	return sha256.Sum256(b[:])
}

// MapValue is the hash of a resident's count and chain: what the map's
// leaf holds, and all a proof reveals of another resident's leaf.
func MapValue(entries int64, chain MapHash) MapHash {
	var b [1 + 8 + 32]byte
	b[0] = mapTagValue
	binary.BigEndian.PutUint64(b[1:], uint64(entries))
	copy(b[9:], chain[:])
	return sha256.Sum256(b[:])
}

// mapLeafHash is the hash of the leaf of key with value.
func mapLeafHash(key, value MapHash) MapHash {
	var b [1 + 32 + 32]byte
	b[0] = mapTagLeaf
	copy(b[1:], key[:])
	copy(b[33:], value[:])
	return sha256.Sum256(b[:])
}

// mapNodeHash is the hash of an interior node: empty when both children are.
func mapNodeHash(left, right MapHash) MapHash {
	if left == (MapHash{}) && right == (MapHash{}) {
		return MapHash{}
	}
	var b [1 + 32 + 32]byte
	b[0] = mapTagInterior
	copy(b[1:], left[:])
	copy(b[33:], right[:])
	return sha256.Sum256(b[:])
}

// bit is the i-th bit of key, from the most significant.
func bit(key MapHash, i int) int {
	return int(key[i/8]>>(7-i%8)) & 1
}

// ResidentLeaf is a resident's leaf: its key and value.
type ResidentLeaf struct {
	Key   MapHash
	Value MapHash
}

// MapRoot computes the root of the map holding leaves, sorted by key
// (SortLeaves): the reference the stored map and proofs are checked against.
func MapRoot(leaves []ResidentLeaf) MapHash { return subtreeRoot(leaves, 0) }

// SortLeaves sorts leaves by key.
func SortLeaves(leaves []ResidentLeaf) {
	slices.SortFunc(leaves, func(a, b ResidentLeaf) int { return bytes.Compare(a.Key[:], b.Key[:]) })
}

func subtreeRoot(leaves []ResidentLeaf, depth int) MapHash {
	switch len(leaves) {
	case 0:
		return MapHash{}
	case 1:
		return mapLeafHash(leaves[0].Key, leaves[0].Value)
	}
	split := splitAt(leaves, depth)
	return mapNodeHash(subtreeRoot(leaves[:split], depth+1), subtreeRoot(leaves[split:], depth+1))
}

// splitAt is the index of the first of the sorted leaves whose bit at depth is 1.
func splitAt(leaves []ResidentLeaf, depth int) int {
	i, _ := slices.BinarySearchFunc(leaves, 1, func(l ResidentLeaf, _ int) int {
		if bit(l.Key, depth) == 0 {
			return -1
		}
		return 1
	})
	return i
}

// MapProof is the path of one key to the map's root: the siblings from the
// root down, and what the path ends in: the key's own leaf (Found), another
// key's leaf (Other, OtherValue), or an empty subtree.
type MapProof struct {
	Siblings   []MapHash
	Found      bool
	Other      *ResidentLeaf
	OtherValue MapHash
}

// ProveKey returns the path of key in the map holding the sorted leaves.
func ProveKey(leaves []ResidentLeaf, key MapHash) MapProof {
	var p MapProof
	for depth := 0; ; depth++ {
		switch len(leaves) {
		case 0:
			return p
		case 1:
			if leaves[0].Key == key {
				p.Found = true
			} else {
				other := leaves[0]
				p.Other = &other
			}
			return p
		}
		split := splitAt(leaves, depth)
		if bit(key, depth) == 0 {
			p.Siblings = append(p.Siblings, subtreeRoot(leaves[split:], depth+1))
			leaves = leaves[:split]
		} else {
			p.Siblings = append(p.Siblings, subtreeRoot(leaves[:split], depth+1))
			leaves = leaves[split:]
		}
	}
}

// CheckKey checks that under root, key has the value (found) or, when
// value is nil, that key is not in the map.
func CheckKey(root, key MapHash, value *MapHash, p MapProof) error {
	depth := len(p.Siblings)
	if depth > mapDepth {
		return fmt.Errorf("resident map proof: %d siblings, more than the tree's depth", depth)
	}
	var h MapHash
	switch {
	case value != nil && !p.Found:
		return errors.New("resident map proof: the resident's leaf is not on the path")
	case value == nil && p.Found:
		return errors.New("resident map proof: the path ends in the resident's leaf, but the document lists no entry")
	case value != nil:
		h = mapLeafHash(key, *value)
	case p.Other != nil:
		if p.Other.Key == key {
			return errors.New("resident map proof: the other leaf on the path is the resident's own")
		}
		for i := range depth {
			if bit(p.Other.Key, i) != bit(key, i) {
				return errors.New("resident map proof: the other leaf on the path is not under the resident's path")
			}
		}
		h = mapLeafHash(p.Other.Key, p.Other.Value)
	}
	for i := depth - 1; i >= 0; i-- {
		if bit(key, i) == 0 {
			h = mapNodeHash(h, p.Siblings[i])
		} else {
			h = mapNodeHash(p.Siblings[i], h)
		}
	}
	if h != root {
		return errors.New("resident map proof: the path does not lead to the checkpoint's map root")
	}
	return nil
}

// ResidentState is a resident's leaf before its key is taken: how many
// entries concern them, and the chain over them.
type ResidentState struct {
	Entries int64
	Chain   MapHash
	LastSeq int64
}

// Add extends the state by the entry seq with leaf hash leaf.
func (s *ResidentState) Add(seq int64, leaf tlog.Hash) {
	s.Entries++
	s.Chain = ChainNext(s.Chain, seq, leaf)
	s.LastSeq = seq
}

// Value is the state's value in the map.
func (s ResidentState) Value() MapHash { return MapValue(s.Entries, s.Chain) }

// subjectRows calls fn for each resident an entry in [from, to) concerns, in
// the order of the log, with the entry's leaf hash.
func subjectRows(ctx context.Context, q db.Querier, from, to int64, fn func(code string, seq int64, leaf tlog.Hash) error) error {
	return readSubjectRows(ctx, q, "s.seq, s.resident_code", from, to, fn)
}

// readSubjectRows is subjectRows in the order given (SQL, over s).
func readSubjectRows(ctx context.Context, q db.Querier, order string, from, to int64, fn func(code string, seq int64, leaf tlog.Hash) error) error {
	rows, err := q.Query(ctx, `SELECT s.resident_code, s.seq, e.leaf_hash FROM audit_subject s JOIN audit_entry e ON e.seq = s.seq
		WHERE s.seq >= ? AND s.seq < ? ORDER BY `+order, from, to)
	if err != nil {
		return fmt.Errorf("read the residents of entries %d to %d: %w", from, to-1, err)
	}
	defer rows.Close()
	for rows.Next() {
		var code string
		var seq int64
		var raw []byte
		if err := rows.Scan(&code, &seq, &raw); err != nil {
			return fmt.Errorf("read the residents of entries %d to %d: %w", from, to-1, err)
		}
		var leaf tlog.Hash
		if len(raw) != len(leaf) {
			return fmt.Errorf("entry %d: leaf hash of %d bytes", seq, len(raw))
		}
		copy(leaf[:], raw)
		if err := fn(code, seq, leaf); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the residents of entries %d to %d: %w", from, to-1, err)
	}
	return nil
}

// RebuildMap computes, from the log's rows alone, every resident's state
// over the first size entries: what `audit verify` compares the
// checkpoint's map root with.
func RebuildMap(ctx context.Context, q db.Querier, size int64) (map[string]*ResidentState, error) {
	states := map[string]*ResidentState{}
	err := subjectRows(ctx, q, 0, size, func(code string, seq int64, leaf tlog.Hash) error {
		s := states[code]
		if s == nil {
			s = &ResidentState{}
			states[code] = s
		}
		s.Add(seq, leaf)
		return nil
	})
	return states, err
}

// rebuiltMapRoot is MapRoot(Leaves(RebuildMap(...))) without a map of every
// resident's state: it reads the subject rows resident by resident (the
// index on resident code and seq) and keeps only each resident's leaf, 64
// bytes, where the map of states took about four times that — what `audit
// verify` holds for a register of millions.
func rebuiltMapRoot(ctx context.Context, q db.Querier, size int64) (MapHash, error) {
	var leaves []ResidentLeaf
	var code string
	var state ResidentState
	done := func() {
		if state.Entries > 0 {
			leaves = append(leaves, ResidentLeaf{Key: ResidentKey(code), Value: state.Value()})
		}
	}
	err := readSubjectRows(ctx, q, "s.resident_code, s.seq", 0, size, func(c string, seq int64, leaf tlog.Hash) error {
		if c != code {
			done()
			code, state = c, ResidentState{}
		}
		state.Add(seq, leaf)
		return nil
	})
	if err != nil {
		return MapHash{}, err
	}
	done()
	SortLeaves(leaves)
	return MapRoot(leaves), nil
}

// Leaves returns the map's sorted leaves for the states.
func Leaves(states map[string]*ResidentState) []ResidentLeaf {
	leaves := make([]ResidentLeaf, 0, len(states))
	for code, s := range states {
		leaves = append(leaves, ResidentLeaf{Key: ResidentKey(code), Value: s.Value()})
	}
	SortLeaves(leaves)
	return leaves
}

// mapPath is a node's place in the stored map: its depth and the key bits
// above it, stored as 2 bytes of depth and the bits, zero-padded.
type mapPath struct {
	depth int
	bits  MapHash // the key's bits above depth; the rest zero
}

func pathOf(key MapHash, depth int) mapPath {
	p := mapPath{depth: depth}
	full := depth / 8
	copy(p.bits[:full], key[:full])
	if rest := depth % 8; rest > 0 {
		p.bits[full] = key[full] & byte(0xff<<(8-rest))
	}
	return p
}

func (p mapPath) child(b int) mapPath {
	c := mapPath{depth: p.depth + 1, bits: p.bits}
	if b == 1 {
		c.bits[p.depth/8] |= 0x80 >> (p.depth % 8)
	}
	return c
}

func (p mapPath) encode() []byte {
	b := make([]byte, 2, 2+(p.depth+7)/8)
	binary.BigEndian.PutUint16(b, uint16(p.depth))
	return append(b, p.bits[:(p.depth+7)/8]...)
}

// mapNode is a stored node: a leaf (the one key under its path) or an
// interior node.
type mapNode struct {
	leaf  bool
	key   MapHash // a leaf's key
	value MapHash // a leaf's value
	hash  MapHash // a leaf's hash, or the interior node's
}

// mapStore reads and writes the stored map within one transaction, keeping
// what it read and what it changed.
type mapStore struct {
	ctx   context.Context
	q     db.Querier
	nodes map[mapPath]*mapNode // nil: known to be absent
	dirty map[mapPath]bool
}

func (s *mapStore) get(p mapPath) (*mapNode, error) {
	if n, ok := s.nodes[p]; ok {
		return n, nil
	}
	var key, value, hash []byte
	err := s.q.QueryRow(s.ctx, `SELECT leaf_key, leaf_value, hash FROM audit_map_node WHERE prefix = ?`, p.encode()).Scan(&key, &value, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		s.nodes[p] = nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the resident map at depth %d: %w", p.depth, err)
	}
	n := &mapNode{leaf: key != nil}
	copy(n.key[:], key)
	copy(n.value[:], value)
	copy(n.hash[:], hash)
	s.nodes[p] = n
	return n, nil
}

func (s *mapStore) put(p mapPath, n *mapNode) {
	s.nodes[p] = n
	s.dirty[p] = true
}

func (s *mapStore) hashOf(p mapPath) (MapHash, error) {
	n, err := s.get(p)
	if err != nil || n == nil {
		return MapHash{}, err
	}
	return n.hash, nil
}

// loadMany reads the nodes at paths not read yet, a chunk of paths per
// query.
func (s *mapStore) loadMany(paths []mapPath) error {
	var need []mapPath
	seen := map[mapPath]bool{}
	for _, p := range paths {
		if _, ok := s.nodes[p]; !ok && !seen[p] {
			seen[p] = true
			need = append(need, p)
		}
	}
	for start := 0; start < len(need); start += mapChunk {
		chunk := need[start:min(start+mapChunk, len(need))]
		args := make([]any, len(chunk))
		byPrefix := make(map[string]mapPath, len(chunk))
		for i, p := range chunk {
			enc := p.encode()
			args[i] = enc
			byPrefix[string(enc)] = p
			s.nodes[p] = nil // absent unless read below
		}
		rows, err := s.q.Query(s.ctx, `SELECT prefix, leaf_key, leaf_value, hash FROM audit_map_node WHERE prefix IN (?`+
			strings.Repeat(",?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return fmt.Errorf("read the resident map: %w", err)
		}
		for rows.Next() {
			var prefix, key, value, hash []byte
			if err := rows.Scan(&prefix, &key, &value, &hash); err != nil {
				rows.Close()
				return fmt.Errorf("read the resident map: %w", err)
			}
			n := &mapNode{leaf: key != nil}
			copy(n.key[:], key)
			copy(n.value[:], value)
			copy(n.hash[:], hash)
			s.nodes[byPrefix[string(prefix)]] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read the resident map: %w", err)
		}
	}
	return nil
}

// mapChunk is how many paths or codes one query names.
const mapChunk = 500

// apply places each leaf (a key with its new value) and marks the interior
// nodes above it for rehashing. The keys descend level by level together,
// so each level's nodes are read with a few queries.
func (s *mapStore) apply(leaves []ResidentLeaf) error {
	active := leaves
	for depth := 0; len(active) > 0; depth++ {
		if depth > mapDepth {
			return errors.New("resident map: a key has no place")
		}
		paths := make([]mapPath, len(active))
		for i, l := range active {
			paths[i] = pathOf(l.Key, depth)
		}
		if err := s.loadMany(paths); err != nil {
			return err
		}
		var deeper []ResidentLeaf
		for i, l := range active {
			leaf := &mapNode{leaf: true, key: l.Key, value: l.Value, hash: mapLeafHash(l.Key, l.Value)}
			n := s.nodes[paths[i]]
			switch {
			case n == nil || (n.leaf && n.key == l.Key):
				s.put(paths[i], leaf)
				s.markAbove(l.Key, depth)
			case n.leaf:
				// Another key's leaf: push both down to where they part.
				other := n
				split := depth
				for bit(l.Key, split) == bit(other.key, split) {
					split++
				}
				for d := depth; d <= split; d++ {
					s.put(pathOf(l.Key, d), &mapNode{})
				}
				s.put(pathOf(other.key, split+1), other)
				s.put(pathOf(l.Key, split+1), leaf)
				s.markAbove(l.Key, split+1)
			default:
				deeper = append(deeper, l)
			}
		}
		active = deeper
	}
	return nil
}

// markAbove marks the interior nodes above depth on key's path.
func (s *mapStore) markAbove(key MapHash, depth int) {
	for d := 0; d < depth; d++ {
		p := pathOf(key, d)
		if n := s.nodes[p]; n != nil && !n.leaf {
			s.dirty[p] = true
		}
	}
}

// rehash computes the dirty interior nodes, deepest first, writes every
// changed node and returns the root.
func (s *mapStore) rehash() (MapHash, error) {
	paths := make([]mapPath, 0, len(s.dirty))
	for p := range s.dirty {
		paths = append(paths, p)
	}
	slices.SortFunc(paths, func(a, b mapPath) int { return b.depth - a.depth })
	var children []mapPath
	for _, p := range paths {
		if !s.nodes[p].leaf {
			children = append(children, p.child(0), p.child(1))
		}
	}
	if err := s.loadMany(children); err != nil {
		return MapHash{}, err
	}
	for _, p := range paths {
		n := s.nodes[p]
		if n.leaf {
			continue
		}
		l, err := s.hashOf(p.child(0))
		if err != nil {
			return MapHash{}, err
		}
		r, err := s.hashOf(p.child(1))
		if err != nil {
			return MapHash{}, err
		}
		n.hash = mapNodeHash(l, r)
	}
	// Written as a delete and an insert of the changed nodes, in chunks.
	rows := make([][]any, 0, len(paths))
	prefixes := make([]any, 0, len(paths))
	for _, p := range paths {
		n := s.nodes[p]
		var key, value []byte
		if n.leaf {
			key, value = n.key[:], n.value[:]
		}
		enc := p.encode()
		prefixes = append(prefixes, enc)
		rows = append(rows, []any{enc, key, value, n.hash[:]})
	}
	if err := deleteIn(s.ctx, s.q, "audit_map_node", "prefix", prefixes); err != nil {
		return MapHash{}, err
	}
	if err := db.InsertMany(s.ctx, s.q, "audit_map_node", []string{"prefix", "leaf_key", "leaf_value", "hash"}, rows); err != nil {
		return MapHash{}, fmt.Errorf("write the resident map: %w", err)
	}
	return s.hashOf(mapPath{})
}

// deleteIn deletes the rows of table whose column is one of values, a
// chunk per statement.
func deleteIn(ctx context.Context, q db.Querier, table, column string, values []any) error {
	for start := 0; start < len(values); start += mapChunk {
		chunk := values[start:min(start+mapChunk, len(values))]
		if _, err := q.Exec(ctx, `DELETE FROM `+table+` WHERE `+column+` IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, chunk...); err != nil {
			return fmt.Errorf("rewrite %s: %w", table, err)
		}
	}
	return nil
}

// errMapAhead means another process on the same log signed a larger tree
// (and brought the map to it) than this process knows of.
var errMapAhead = errors.New("another process signed a larger tree")

// advanceMap brings the stored map from the size it describes to size, in
// tx, and returns its root. A map already at size answers its root; one
// beyond size (another process signed a larger tree) is errMapAhead.
func advanceMap(ctx context.Context, tx *db.Tx, size int64) (MapHash, error) {
	var from int64
	if err := tx.QueryRow(ctx, `SELECT size FROM audit_map_state WHERE id = 1`).Scan(&from); err != nil {
		return MapHash{}, fmt.Errorf("read the resident map's size: %w", err)
	}
	if from > size {
		return MapHash{}, fmt.Errorf("%w: the resident map describes %d entries, more than this process's tree of %d", errMapAhead, from, size)
	}
	if from == size {
		return (&mapStore{ctx: ctx, q: tx, nodes: map[mapPath]*mapNode{}}).hashOf(mapPath{})
	}
	// The subject rows are taken a batch at a time, in the log's order,
	// each batch's chains brought up to date before the next is read. An
	// advance of one batch (any checkpoint but one after a large import)
	// places its leaves in the map at once; a larger one keeps its leaves
	// in a temporary table keyed by the map's key and places them in key
	// order, a batch at a time, so each batch rewrites its own part of the
	// map and the few nodes above it: an import's entry of millions of
	// residents advances the map in the memory of one batch.
	after := mapSubject{seq: from}
	var spilled *leafSpill
	for {
		batch, err := mapSubjects(ctx, tx, after, size, MapBatch)
		if err != nil {
			return MapHash{}, err
		}
		if spilled == nil && len(batch) == MapBatch {
			if spilled, err = newLeafSpill(ctx, tx); err != nil {
				return MapHash{}, err
			}
			defer spilled.close()
		}
		if len(batch) > 0 {
			leaves, err := advanceChains(ctx, tx, batch)
			if err != nil {
				return MapHash{}, err
			}
			if spilled != nil {
				err = spilled.add(leaves)
			} else {
				err = applyLeaves(ctx, tx, leaves)
			}
			if err != nil {
				return MapHash{}, err
			}
			after = batch[len(batch)-1]
		}
		if len(batch) < MapBatch {
			break
		}
	}
	if spilled != nil {
		if err := spilled.apply(); err != nil {
			return MapHash{}, err
		}
	}
	root, err := (&mapStore{ctx: ctx, q: tx, nodes: map[mapPath]*mapNode{}}).hashOf(mapPath{})
	if err != nil {
		return MapHash{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE audit_map_state SET size = ? WHERE id = 1`, size); err != nil {
		return MapHash{}, fmt.Errorf("record the resident map's size: %w", err)
	}
	return root, nil
}

// MapBatch is how many subject rows the resident map takes in at a time.
// A variable so tests can make an advance take several batches.
var MapBatch = 32768

// mapSubject is a subject row: an entry's resident, with the entry's leaf
// hash.
type mapSubject struct {
	code string
	seq  int64
	leaf tlog.Hash
}

// mapSubjects reads up to n subject rows after the row after (in the
// order of seq, then code; a zero code: from the start of its seq) and
// before entry to.
func mapSubjects(ctx context.Context, q db.Querier, after mapSubject, to int64, n int) ([]mapSubject, error) {
	rows, err := q.Query(ctx, `SELECT s.resident_code, s.seq, e.leaf_hash FROM audit_subject s JOIN audit_entry e ON e.seq = s.seq
		WHERE (s.seq, s.resident_code) > (?, ?) AND s.seq < ? ORDER BY s.seq, s.resident_code LIMIT ?`, after.seq, after.code, to, n)
	if err != nil {
		return nil, fmt.Errorf("read the residents of entries %d to %d: %w", after.seq, to-1, err)
	}
	defer rows.Close()
	batch := make([]mapSubject, 0, n)
	for rows.Next() {
		var sub mapSubject
		var raw []byte
		if err := rows.Scan(&sub.code, &sub.seq, &raw); err != nil {
			return nil, fmt.Errorf("read the residents of entries %d to %d: %w", after.seq, to-1, err)
		}
		if len(raw) != len(sub.leaf) {
			return nil, fmt.Errorf("entry %d: leaf hash of %d bytes", sub.seq, len(raw))
		}
		copy(sub.leaf[:], raw)
		batch = append(batch, sub)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the residents of entries %d to %d: %w", after.seq, to-1, err)
	}
	return batch, nil
}

// advanceChains brings the stored chains up to date with subjects, rows
// in the log's order following those already taken in, and returns the
// map's new leaves for their residents. A resident's leaf given twice
// (their rows in two batches) is placed last with its later value.
func advanceChains(ctx context.Context, tx *db.Tx, subjects []mapSubject) ([]ResidentLeaf, error) {
	states := map[string]*ResidentState{}
	var codes []string
	for _, sub := range subjects {
		if states[sub.code] == nil {
			states[sub.code] = &ResidentState{}
			codes = append(codes, sub.code)
		}
	}
	if err := loadStates(ctx, tx, codes, states); err != nil {
		return nil, err
	}
	for _, sub := range subjects {
		states[sub.code].Add(sub.seq, sub.leaf)
	}
	slices.Sort(codes)
	rows := make([][]any, len(codes))
	leaves := make([]ResidentLeaf, len(codes))
	args := make([]any, len(codes))
	for i, code := range codes {
		st := states[code]
		rows[i] = []any{code, st.Entries, st.Chain[:], st.LastSeq}
		leaves[i] = ResidentLeaf{Key: ResidentKey(code), Value: st.Value()}
		args[i] = code
	}
	if err := deleteIn(ctx, tx, "audit_resident", "resident_code", args); err != nil {
		return nil, err
	}
	if err := db.InsertMany(ctx, tx, "audit_resident", []string{"resident_code", "entries", "chain", "last_seq"}, rows); err != nil {
		return nil, fmt.Errorf("write the resident map's chains: %w", err)
	}
	return leaves, nil
}

// applyLeaves places leaves in the stored map and rewrites the nodes above
// them.
func applyLeaves(ctx context.Context, tx *db.Tx, leaves []ResidentLeaf) error {
	store := &mapStore{ctx: ctx, q: tx, nodes: map[mapPath]*mapNode{}, dirty: map[mapPath]bool{}}
	if err := store.apply(leaves); err != nil {
		return err
	}
	_, err := store.rehash()
	return err
}

// leafSpill holds a large advance's leaves in a temporary table (on disk
// when it outgrows memory: the connection's temp_store is FILE), each
// batch's under its number, until they are placed in key order.
type leafSpill struct {
	ctx     context.Context
	tx      *db.Tx
	batches int
	undo    []func()
}

const leafSpillTable = "map_leaf_load"

func newLeafSpill(ctx context.Context, tx *db.Tx) (*leafSpill, error) {
	sp := &leafSpill{ctx: ctx, tx: tx}
	create := `CREATE TEMP TABLE ` + leafSpillTable + ` (leaf_key BLOB NOT NULL, batch INTEGER NOT NULL, leaf_value BLOB NOT NULL)`
	if tx.Dialect() == db.Postgres {
		create = `CREATE TEMP TABLE ` + leafSpillTable + ` (leaf_key BYTEA NOT NULL, batch INTEGER NOT NULL, leaf_value BYTEA NOT NULL) ON COMMIT DROP`
	}
	if _, err := tx.Exec(ctx, create); err != nil {
		return nil, fmt.Errorf("resident map: leaf table: %w", err)
	}
	sp.undo = append(sp.undo, func() { tx.Exec(context.Background(), `DROP TABLE IF EXISTS `+leafSpillTable) })
	return sp, nil
}

// add keeps a batch's leaves (appended: no index until apply).
func (sp *leafSpill) add(leaves []ResidentLeaf) error {
	sp.batches++
	rows := make([][]any, len(leaves))
	for i, l := range leaves {
		rows[i] = []any{l.Key[:], sp.batches, l.Value[:]}
	}
	if err := db.InsertMany(sp.ctx, sp.tx, leafSpillTable, []string{"leaf_key", "batch", "leaf_value"}, rows); err != nil {
		return fmt.Errorf("resident map: keep leaves: %w", err)
	}
	return nil
}

// apply places the kept leaves in the map in key order, MapBatch at a
// time; a key kept by several batches takes the last batch's value (read
// last, and placed over the earlier one when they fall in two pages).
func (sp *leafSpill) apply() error {
	// One sort builds the index the pages are read by.
	if _, err := sp.tx.Exec(sp.ctx, `CREATE INDEX map_leaf_load_key ON `+leafSpillTable+` (leaf_key, batch)`); err != nil {
		return fmt.Errorf("resident map: sort leaves: %w", err)
	}
	afterKey, afterBatch := []byte{}, 0 // not nil: NULL compares with nothing
	for {
		rows, err := sp.tx.Query(sp.ctx, `SELECT leaf_key, batch, leaf_value FROM `+leafSpillTable+
			` WHERE (leaf_key, batch) > (?, ?) ORDER BY leaf_key, batch LIMIT ?`, afterKey, afterBatch, MapBatch)
		if err != nil {
			return fmt.Errorf("resident map: read leaves: %w", err)
		}
		var leaves []ResidentLeaf
		n := 0
		for rows.Next() {
			var key, value []byte
			var l ResidentLeaf
			if err := rows.Scan(&key, &afterBatch, &value); err != nil {
				rows.Close()
				return fmt.Errorf("resident map: read leaves: %w", err)
			}
			n++
			copy(l.Key[:], key)
			copy(l.Value[:], value)
			if len(leaves) > 0 && leaves[len(leaves)-1].Key == l.Key {
				leaves[len(leaves)-1] = l // a later batch's value
				continue
			}
			leaves = append(leaves, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("resident map: read leaves: %w", err)
		}
		if len(leaves) > 0 {
			if err := applyLeaves(sp.ctx, sp.tx, leaves); err != nil {
				return err
			}
			afterKey = slices.Clone(leaves[len(leaves)-1].Key[:])
		}
		if n < MapBatch {
			return nil
		}
	}
}

// close drops the table and gives back the temporary storage setting.
func (sp *leafSpill) close() {
	for i := len(sp.undo) - 1; i >= 0; i-- {
		sp.undo[i]()
	}
	sp.undo = nil
}

// loadStates reads the stored chains of codes into states, a chunk of codes
// per query; a resident not stored keeps the zero state.
func loadStates(ctx context.Context, q db.Querier, codes []string, states map[string]*ResidentState) error {
	for start := 0; start < len(codes); start += mapChunk {
		chunk := codes[start:min(start+mapChunk, len(codes))]
		args := make([]any, len(chunk))
		for i, c := range chunk {
			args[i] = c
		}
		rows, err := q.Query(ctx, `SELECT resident_code, entries, chain, last_seq FROM audit_resident WHERE resident_code IN (?`+
			strings.Repeat(",?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return fmt.Errorf("read the resident map's chains: %w", err)
		}
		for rows.Next() {
			var code string
			var chain []byte
			var st ResidentState
			if err := rows.Scan(&code, &st.Entries, &chain, &st.LastSeq); err != nil {
				rows.Close()
				return fmt.Errorf("read the resident map's chains: %w", err)
			}
			copy(st.Chain[:], chain)
			*states[code] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read the resident map's chains: %w", err)
		}
	}
	return nil
}

// StoredResident reads a resident's state in the stored map (zero when no
// entry concerns them) and the path of their key, within q (a read
// transaction, so both describe the same tree), with the size the map
// describes.
func StoredResident(ctx context.Context, q db.Querier, code string) (ResidentState, MapProof, int64, error) {
	var st ResidentState
	var size int64
	if err := q.QueryRow(ctx, `SELECT size FROM audit_map_state WHERE id = 1`).Scan(&size); err != nil {
		return st, MapProof{}, 0, fmt.Errorf("read the resident map's size: %w", err)
	}
	var chain []byte
	err := q.QueryRow(ctx, `SELECT entries, chain, last_seq FROM audit_resident WHERE resident_code = ?`, code).Scan(&st.Entries, &chain, &st.LastSeq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, MapProof{}, 0, fmt.Errorf("read the resident map's chain of %s: %w", code, err)
	}
	copy(st.Chain[:], chain)
	store := &mapStore{ctx: ctx, q: q, nodes: map[mapPath]*mapNode{}, dirty: map[mapPath]bool{}}
	key := ResidentKey(code)
	var p MapProof
	for depth := 0; depth <= mapDepth; depth++ {
		n, err := store.get(pathOf(key, depth))
		if err != nil {
			return st, p, size, err
		}
		switch {
		case n == nil:
			return st, p, size, nil
		case n.leaf && n.key == key:
			p.Found = true
			return st, p, size, nil
		case n.leaf:
			// Another resident's leaf: the proof shows its key and value
			// hash, never their code, count or chain.
			p.Other = &ResidentLeaf{Key: n.key, Value: n.value}
			return st, p, size, nil
		}
		sib, err := store.hashOf(pathOf(key, depth).child(1 - bit(key, depth)))
		if err != nil {
			return st, p, size, err
		}
		p.Siblings = append(p.Siblings, sib)
	}
	return st, p, size, fmt.Errorf("resident map: the path of %s has no end", code)
}
