//! Known-answer tests of the IKEv2 KDF: NIST SP 800-135 "IKEv2" vectors.
//!
//! Sources (each vector was also re-checked with an independent Python HMAC script):
//! - `LIBRESWAN_SHA1`: libreswan, `programs/cavp/test.acvp.ikev2.run` (the CAVP
//!   `[SHA-1]` COUNT = 0 case, in CAVP .rsp layout), github.com/libreswan/libreswan.
//! - `CISCO_SHA1`: the IKEv2 KAT of Cisco's FIPS OpenSSL KDF tests, `crypto/kdf/kdftest.c`
//!   (`test_ikev2_kdf`), as vendored in github.com/fliphil/openssl; Ni | Nr is given
//!   there as one 16-byte string, split here 8 + 8 (only the concatenation matters).
//! - `NIST_SHA256`: NIST's own ACVP server tests,
//!   `crypto/test/NIST.CVP.Crypto.IKEv2.Tests/IKEv2Tests.cs` ("IKEv2 SHA2-256"),
//!   github.com/usnistgov/ACVP-Server.
//!
//! CAVP's DKM(Child SA) uses SK_d = the first PRF-output-length bytes of DKM, as
//! RFC 7296 does, so the derived Child keys are prefixes of it.

use super::*;
use crate::crypto::transform::*;

struct Vector {
    prf: Prf,
    ni: &'static str,
    nr: &'static str,
    g_ir: &'static str,
    g_ir_new: &'static str,
    spi_i: &'static str,
    spi_r: &'static str,
    skeyseed: &'static str,
    dkm: &'static str,
    dkm_child: &'static str,
    dkm_child_dh: &'static str,
    skeyseed_rekey: &'static str,
}

const LIBRESWAN_SHA1: Vector = Vector {
    prf: Prf::HmacSha1,
    ni: "32b50d5f4a3763f3",
    nr: "9206a04b26564cb1",
    g_ir: "4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52",
    g_ir_new: "863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330",
    spi_i: "34c9e7c188868785",
    spi_r: "3ff77d760d2b2199",
    skeyseed: "a9a7b222b59f8f48645f28a1db5b5f5d7479cba7",
    dkm: "a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002a2a63080e514a062768b7660\
          6f9fa5e992204fc5a670bde3f10d6b027113936a5c55b648a194ae587b0088d52204b702c979fa280870d2ed\
          41efa9c549fd11198af1670b143d384bd275c5f594cf266b05ebadca855e4249520a441a81157435a7a56cc4",
    dkm_child: "8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c5811a8e7b5d1cdabd95\
                60b2d5e092d1f24e2d4b85eccdf0ad0dc9abd94b51ee71814ca6dbc8bb51b6309f5b9545c7eb35cf55\
                80b1e521a8fe20754a2d883ba0c2cf285f524aea6545b33106bc03e614296d319d41d4b50b3f510b1c\
                0a22f3e664994d234cb4",
    dkm_child_dh: "bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d37301628190e38c662\
                   32eab4b3ab14c400a5197dd3730ed4820a8a10394d51e1c0400052f63ebd36b0e7ef53aaed31eb\
                   a4a5080d7d4b5666023a8bbb5ffb7857240f9a05884d1b7d2f933708450b7b3288f1fc863ab49f\
                   a901227cffc06e27899c7054d56fd74c",
    skeyseed_rekey: "63e81194946ebd05df7df5ebf5d8750056bf1f1d",
};

const CISCO_SHA1: Vector = Vector {
    prf: Prf::HmacSha1,
    ni: "3651fef5c9c35e93",
    nr: "c09a8b90a3f04d59",
    g_ir: "d084a30166a50fb7325c3960874a839449ef9741c2f4f947d0201dd8c1269273d79509f37e3ca3eb4fa2\
           fe2a28254e289cd3f34dad4eb4df1a07685a4b8a94fa61e2491f7598b3ce65547ff133b3f63d1ac4175eaa\
           695033f3cedb026a6873a36455172a8540b8a5d23a0143bed0390ee49b168269d75fffee9fb62be965993c",
    g_ir_new: "52f00ab174c25d5b7139ae5ff4e8e9eddee5992d2e36adf8a559ffd90dab1442e4fbe429d320c0f3\
               3552a17d1557fa41ea70e8fb916c4fa27ed52b5f8ebd8461afa78f1159159a64055ac5f6319e29c2\
               8eae58cbc6847770f32c3fed1d04750484f854790f95e9ec01bc5bc461f24966462e359511329305\
               038e94deb6dd42c2",
    spi_i: "8e5c3ae507221684",
    spi_r: "b1f201bb155c3acd",
    skeyseed: "cd2e8050137832245f1dbacc6e4f0a92f94d45d6",
    dkm: "6f1b12cad3cbe097b35430356d869d54cddb0198ec859174d53ceb92dddedbe2436db69f60977c58fa63bbb6\
          67f8d36920b109baae8f6c61a9ac49feda01843225d080ec5539d5881a25521ffb2a0a91874a9c0a27fcc2d7\
          17eb8963a9e3a89c7ab264757284c28cf8c3ca40576f4220b052b1fb8e9ad60ba3c80557323331a8cbb89f20",
    dkm_child: "4727dc0ef94eb326ce131cf282fb652faa638ad0ddae3786a11bcc0309876009f8c485de011ad962\
                c5b1ca8a41ff8145445749079c5686e26ffebbc342f06981f3da745e11ca0976424d1f8caec623d5\
                9dc7186deb20a27b411d1dcb70a365440bf7de905088b0692e8addc094e18d1939bdb67e89798ca6\
                b239e2ccb81c2409dac0106c",
    dkm_child_dh: "b109c21ad4c0797768c1cec9e63554681e48f224bca7f23c20c4ea7041983451e9aa1d540865\
                   6c8a975ff1b9d9a12c75ffeb64bdecb30174664cccb4e14f1c377b7f6d1525af77c7092aac3e47\
                   f917ebae8297fb5539d2008ce830823a09cc197361d4a289c72745f6ce9fefe812be5bf55b3200\
                   fbb82e41a4a40877d3fe106db909707b",
    skeyseed_rekey: "3b03bce748c96d5e8306918d2ff89b68f0648da3",
};

const NIST_SHA256: Vector = Vector {
    prf: Prf::HmacSha256,
    ni: "0a58fea9c1d4fee2e74e1aad6fb02dd5f318eb127465a112be8dc3c04d5dba62eae708f9dc1b2362afd6ba4b\
         da3cf5000f4979fbcbadbcfda9291593829c4e905c21db0c2ee15175ce77a8a0dadf25c7f175bc53fd91b636\
         a9b3c50b203de9b9d6dc463dcb4048f101e26498ceaed3afbcd931394a7e099392dfff82e5d6fa85c2e8a8ab\
         90ad363a66795dc32798847e405acd87988140f973058917273a6b0bafb962c75e2b1a21e79c08beeb82168b\
         f8b4b57f3dce867bf7862a7b8acbc21be838021913daf64340c055ed17aaf7b6e1d0ca33ae890ddbdb83f4e6\
         15aad5e3bff58c3db70bac81a0dfbabe5391fc62bca4659e22a0741e01d8d06e67d9bb41",
    nr: "e4fdfa68df6171d9eaff8b7b5ad31e7c6098d259f3397c9854cbefe7449b0864c1df16ddece8b26567560f8d\
         59182a44c19149c2d0d72606a160021ade3d23c7c6936c91a4b6bec37adf38cfc84b851c68dcee06f81306f6\
         3abbefc07e231e3058c49437a557df617eac01663593d2a3e594699284c0a35eae6931492ccb2a43db72a600\
         a3899205d681d2b76b1280e456339bb10e0c584aecfdae31c77a4c40dbcb345f782ac32835d4c220c1e97254\
         ded6a40075dd717b00b69c86a49e801773026536ae02d58a649827f1ba67610ee936dffd11c9d5a915663191\
         6a0a0046ec0ba42f56f2a18de83d5d71a985b0cc9eec2c06b3d907ca58454419f374069d",
    g_ir: "9d469de41b4739c7dd01f19aa94f17e48150ae9dbede94832142db19",
    g_ir_new: "c2987b0767006c3b9aea491bfed1646a3d7194639492b8d45b23b383",
    spi_i: "c8de93111750e409",
    spi_r: "32d51b33508997fa",
    skeyseed: "eec13ac67c2e072abb684ab4e7b6ce3e7f400af8b96bed48e113497ed337f8d4",
    dkm: "bc83518f63b762874ac57947cdfae33a8d9724df0b83ee4b6df38c23fc2ad829f4d70b5a68dd1f5a52416f09\
          758638aedf919c09a17c5298cdb703bb75b1005cba0109739aaa4efd2fe7534c95ad05e546e4419931270edd\
          cab68ac1589d7fde47f5b9e8d5b614cb24ec3caf515497a9e99ee6f1b318ff153b539ef071dcaff9b41945dc\
          b780700d69e5dc888a91de195c52825badfd0ab4c33cec71ab5c2b4badefe5455455ce5d8ae91721a2091bcc\
          cc1514e69482c9c8da1d9f0f187eedda916393570a8c0a8dfabc26d8ed31e8ea47662515972a22d11d692bc1\
          fac6395aecd82a01ab78daafcd6f3070b1201f158a19331b5d21ceee66fccd2ea37bc07648b9539a52dbf797\
          af53e31a0e8706dd86cf5081ebabd095f281d23c222dd3bc5abf06869017ca8f751cafcc85abea6ba88c139d\
          1f32a12f7f486cf57eae5d85551b97f3963616d8f597c70efa98c1e1fa369fb77a80b1ec5fe533890672c455\
          1172eab1b7fd68ad08c4d4c69f2a867302065ca730aa6915bc2cfb6d93820977",
    dkm_child: "c725012285d56e53244a9baaaf95abfca543708d333a3f3a86ba660e00edd4d489bcd631819fda04\
                13382edd9f53d1ed718e056c2ad91d38de90f06cd434de70141d051c021e7ddd6e4137946b4770dc\
                a59a4decabdd866852eb557fdd995646613ff2923f5f23aa58c8fbd5ad52cf2eac9bda97faad5596\
                695f4a747a0f1cc6a1f78b2181138fb19ac24574d2e6b3a40d6e688abb919a27d793b76568ec66bd\
                099f6f476b705c1472d774a1516a11311b887688f36649e24227640ea8d8666b9f452217e7103b6f\
                0a92b6adb8fbda650ba58d6ac13ac6f6b6361a5d1c44f1e9f22196c96295115c5d01a120e7265962\
                d20353a049286908da776c2165f706a16f43d85fcd319f89c4386340bcb8ed10df38345cb68af719\
                abaf997e9789a5f19a392dcecd78168ba282f0b30555c7a47031a3156d12d7158aa41b863b8394d3\
                0fec63120e89cbc5750eed7786f7d5961b1f2e6faca641ed776d2211bee757b68b77f94056172553\
                715da9fbd1c9a8728f28a2f3c9714a4917490132562484cd",
    dkm_child_dh: "140a1f2a3c94318ece6edfa8c63f37d8d45982de8b6cbfe34011150db0253e34de3796d4aa57\
                   9954a0bbf234794eb6e7ece2a8f91100f5507df4ee8e66c7813d4c0ff64d484a3494c54b0d9c60\
                   5ea24234a49a010ce5c352feb9e1060c8c787229466296cdc9d11bb9d221ed2bb3954457246425\
                   4ec02a0fbe777b07402c775eb6d3e53cd16214c707f851942cc7da92a811b6c5c82f29d9fc3751\
                   b0ebff9898fb14372402a6989ffb9cc32dfe7e2cea32fd882e09804d7fea34ce3b5eb6f303e095\
                   c48a452b0a3eccada81af22195ebbaad289aeabdab074c94e751496bde39d868ebf1d693f36d1c\
                   3c672bbb59c9f77aeb68de57d77da231b7f13d6d277f600c3d3086c4de7b3a59127f4cb9c11893\
                   5574f30e1b7c88b52c8c3531fdbd38ee3d14c69e81803ced6e7501fa0180f6d110b648272002dc\
                   1ad5bf09dc83188011da1d48632e0d2453c8abdd8e9fd32a576aeb9ddfb0a024f674441c20a950\
                   d9bd8cd7b30933cc0d8e87b55e8aa9d913579b410417b3acc13c14bf73c457327873",
    skeyseed_rekey: "05f796c8df322a7e33283ae5fa2f376d8d5efa0ac3745fc548e430031424c121",
};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn spi(s: &str) -> [u8; 8] {
    h(s).try_into().unwrap()
}

fn ike_concat(k: &IkeKeys) -> Vec<u8> {
    [
        &k.sk_d[..],
        &k.sk_ai,
        &k.sk_ar,
        &k.sk_ei,
        &k.sk_er,
        &k.sk_pi,
        &k.sk_pr,
    ]
    .concat()
}

fn child_concat(k: &ChildKeys) -> Vec<u8> {
    [&k.encr_i[..], &k.integ_i, &k.encr_r, &k.integ_r].concat()
}

fn ike_suite(prf: Prf, encr: u16, bits: u16, integ: Option<u16>) -> Suite {
    Suite {
        encr,
        encr_key_bits: bits,
        integ,
        prf: Some(prf.id()),
        dh: Some(MODP_2048),
        esn: None,
    }
}

fn esp_suite(encr: u16, bits: u16, integ: Option<u16>) -> Suite {
    Suite {
        encr,
        encr_key_bits: bits,
        integ,
        prf: None,
        dh: None,
        esn: Some(true),
    }
}

/// Every quantity of one vector, through the public API.
fn check(v: &Vector, ike: Suite, child: Suite) {
    let (ni, nr, g_ir, g_ir_new) = (h(v.ni), h(v.nr), h(v.g_ir), h(v.g_ir_new));
    let (spi_i, spi_r) = (spi(v.spi_i), spi(v.spi_r));
    let dkm = h(v.dkm);

    // SKEYSEED and the full DKM.
    let seed = skeyseed(v.prf, &ni, &nr, &g_ir).unwrap();
    assert_eq!(*seed, h(v.skeyseed), "SKEYSEED");
    let full = prf_plus(
        v.prf,
        &seed,
        &[&ni[..], &nr, &spi_i, &spi_r].concat(),
        dkm.len(),
    )
    .unwrap();
    assert_eq!(*full, dkm, "DKM");

    // The seven keys are DKM cut in order.
    let keys = derive_ike_keys(&ike, &ni, &nr, &g_ir, spi_i, spi_r).unwrap();
    let cut = ike_concat(&keys);
    assert_eq!(cut, dkm[..cut.len()], "IKE keys are a prefix of DKM");
    assert_eq!(keys.sk_d.len(), v.prf.output_len());

    // Child SA keys, without and with a new D-H.
    let c = derive_child_keys(v.prf, &keys.sk_d, None, &ni, &nr, &child).unwrap();
    let cut = child_concat(&c);
    assert_eq!(cut, h(v.dkm_child)[..cut.len()], "DKM(Child SA)");
    let c = derive_child_keys(v.prf, &keys.sk_d, Some(&g_ir_new), &ni, &nr, &child).unwrap();
    let cut = child_concat(&c);
    assert_eq!(cut, h(v.dkm_child_dh)[..cut.len()], "DKM(Child SA D-H)");

    // IKE SA rekey: SKEYSEED(Rekey), then the new SA's keys from it.
    let re = rekey_skeyseed(v.prf, &keys.sk_d, &g_ir_new, &ni, &nr).unwrap();
    assert_eq!(*re, h(v.skeyseed_rekey), "SKEYSEED(Rekey)");
    let rekeyed =
        derive_rekeyed_ike_keys(&ike, v.prf, &keys.sk_d, &g_ir_new, &ni, &nr, spi_i, spi_r)
            .unwrap();
    let expect = prf_plus(v.prf, &re, &[&ni[..], &nr, &spi_i, &spi_r].concat(), 500).unwrap();
    let cut = ike_concat(&rekeyed);
    assert_eq!(cut, expect[..cut.len()]);
}

#[test]
fn cavp_libreswan_sha1() {
    // 1056 bits of DKM is exactly AES-CBC-128 / HMAC-SHA1-96 / PRF-HMAC-SHA1.
    let ike = ike_suite(Prf::HmacSha1, ENCR_AES_CBC, 128, Some(AUTH_HMAC_SHA1_96));
    let keys = derive_ike_keys(
        &ike,
        &h(LIBRESWAN_SHA1.ni),
        &h(LIBRESWAN_SHA1.nr),
        &h(LIBRESWAN_SHA1.g_ir),
        spi(LIBRESWAN_SHA1.spi_i),
        spi(LIBRESWAN_SHA1.spi_r),
    )
    .unwrap();
    assert_eq!(ike_concat(&keys), h(LIBRESWAN_SHA1.dkm));
    check(
        &LIBRESWAN_SHA1,
        ike,
        esp_suite(ENCR_AES_CBC, 128, Some(AUTH_HMAC_SHA1_96)),
    );
}

#[test]
fn cavp_cisco_sha1() {
    check(
        &CISCO_SHA1,
        ike_suite(Prf::HmacSha1, ENCR_AES_GCM_16, 128, None),
        esp_suite(ENCR_AES_GCM_16, 256, None),
    );
}

#[test]
fn cavp_nist_sha256() {
    check(
        &NIST_SHA256,
        ike_suite(Prf::HmacSha256, ENCR_AES_GCM_16, 256, None),
        esp_suite(ENCR_AES_CBC, 256, Some(AUTH_HMAC_SHA2_512_256)),
    );
    check(
        &NIST_SHA256,
        ike_suite(
            Prf::HmacSha256,
            ENCR_AES_CBC,
            128,
            Some(AUTH_HMAC_SHA2_256_128),
        ),
        esp_suite(ENCR_AES_GCM_16, 128, None),
    );
}

#[test]
fn gcm_key_lengths_include_salt() {
    let v = &NIST_SHA256;
    let ike = ike_suite(Prf::HmacSha256, ENCR_AES_GCM_16, 128, None);
    let k = derive_ike_keys(&ike, &h(v.ni), &h(v.nr), &h(v.g_ir), [1; 8], [2; 8]).unwrap();
    assert_eq!(
        [
            k.sk_d.len(),
            k.sk_ai.len(),
            k.sk_ar.len(),
            k.sk_ei.len(),
            k.sk_er.len(),
            k.sk_pi.len()
        ],
        [32, 0, 0, 20, 20, 32]
    );
    for (bits, len) in [(128, 20), (192, 28), (256, 36)] {
        let c = derive_child_keys(
            Prf::HmacSha256,
            &k.sk_d,
            None,
            b"ni",
            b"nr",
            &esp_suite(ENCR_AES_GCM_16, bits, None),
        )
        .unwrap();
        assert_eq!(
            (c.encr_i.len(), c.integ_i.len(), c.encr_r.len()),
            (len, 0, len)
        );
    }
}

#[test]
fn rejects_inconsistent_suites() {
    let v = &NIST_SHA256;
    let mut ike = ike_suite(Prf::HmacSha256, ENCR_AES_CBC, 128, None);
    assert!(derive_ike_keys(&ike, b"n", b"n", b"g", [0; 8], [0; 8]).is_err());
    ike.integ = Some(AUTH_HMAC_SHA1_96);
    ike.prf = None;
    assert!(derive_ike_keys(&ike, b"n", b"n", b"g", [0; 8], [0; 8]).is_err());
    let child = esp_suite(ENCR_AES_GCM_16, 128, Some(AUTH_HMAC_SHA1_96));
    assert!(derive_child_keys(v.prf, b"skd", None, b"n", b"n", &child).is_err());
    let child = esp_suite(ENCR_AES_GCM_16, 128, None);
    assert!(derive_child_keys(v.prf, b"", None, b"n", b"n", &child).is_err());
}

#[test]
fn debug_hides_keys() {
    let ike = ike_suite(Prf::HmacSha1, ENCR_AES_CBC, 128, Some(AUTH_HMAC_SHA1_96));
    let k = derive_ike_keys(&ike, b"ni", b"nr", b"g", [0; 8], [0; 8]).unwrap();
    assert_eq!(
        format!("{k:?}"),
        "IkeKeys { sk_d: 20B, sk_a: 20B, sk_e: 16B, sk_p: 20B }"
    );
}
