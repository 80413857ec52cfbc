// Package authtest is a software WebAuthn authenticator for tests: it
// answers navigator.credentials.create and .get options the way a platform
// authenticator does (ES256, "none" attestation), with user verification
// on or off, so the server's checks can be exercised without a browser.
package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator holds one credential.
type Authenticator struct {
	key        *ecdsa.PrivateKey
	credID     []byte
	userHandle []byte
	counter    uint32
	rpID       string
}

// New returns an authenticator with a fresh key.
func New() *Authenticator {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &Authenticator{key: key, credID: id}
}

var b64 = base64.RawURLEncoding

type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

func (a *Authenticator) authData(uv bool, attested []byte) []byte {
	rp := sha256.Sum256([]byte(a.rpID))
	flags := byte(0x01) // user present
	if uv {
		flags |= 0x04
	}
	if attested != nil {
		flags |= 0x40
	}
	a.counter++
	out := append([]byte{}, rp[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, a.counter)
	return append(out, attested...)
}

// Create answers credential creation options (the JSON BeginRegistration
// returned) for origin; uv says whether the user was verified.
func (a *Authenticator) Create(optionsJSON []byte, origin string, uv bool) []byte {
	var o options
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		panic(fmt.Sprintf("creation options: %v", err))
	}
	a.rpID = o.PublicKey.RP.ID
	a.userHandle, _ = b64.DecodeString(o.PublicKey.User.ID)
	x, y := a.key.PublicKey.X.FillBytes(make([]byte, 32)), a.key.PublicKey.Y.FillBytes(make([]byte, 32))
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		panic(err)
	}
	attested := make([]byte, 16) // AAGUID: zeros
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.credID)))
	attested = append(attested, a.credID...)
	attested = append(attested, cose...)
	obj, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(uv, attested)})
	if err != nil {
		panic(err)
	}
	resp, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData("webauthn.create", o.PublicKey.Challenge, origin)),
			"attestationObject": b64.EncodeToString(obj),
		},
	})
	return resp
}

// Get answers assertion options (the JSON BeginLogin returned) for origin.
func (a *Authenticator) Get(optionsJSON []byte, origin string, uv bool) []byte {
	var o options
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		panic(fmt.Sprintf("assertion options: %v", err))
	}
	if o.PublicKey.RPID != "" {
		a.rpID = o.PublicKey.RPID
	}
	cd := clientData("webauthn.get", o.PublicKey.Challenge, origin)
	ad := a.authData(uv, nil)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		panic(err)
	}
	resp, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.userHandle),
		},
	})
	return resp
}
