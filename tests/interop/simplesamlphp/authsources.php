<?php
// SPDX-License-Identifier: EUPL-1.2
// The test user of the interop test: clara / clara-nrw, attributes named by
// the Servicekonto OID URIs.

$config = [
    'admin' => ['core:AdminPassword'],

    'clara-userpass' => [
        'exampleauth:UserPass',
        'clara:clara-nrw' => [
            'urn:oid:2.5.4.42' => ['Clara'],
            'urn:oid:2.5.4.4' => ['Schmidt'],
            'urn:oid:1.2.40.0.10.2.1.1.55' => ['1990-04-12'],
            'urn:oid:2.5.4.7' => ['Düsseldorf'],
            'urn:oid:1.2.40.0.10.2.1.1.261.94' => ['STORK-QAA-Level-3'],
        ],
    ],
];
