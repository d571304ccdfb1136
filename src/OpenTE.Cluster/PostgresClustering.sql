-- OpenTE: the PostgreSQL schema for Orleans ADO.NET clustering (Microsoft.Orleans.Clustering.AdoNet 10.4.2).
-- Written for OpenTE against the provider's contract: Orleans reads its queries from the table OrleansQuery
-- (QueryKey, QueryText), binds the parameters @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
-- @Status, @ProxyPort, @SuspectTimes, @StartTime, @IAmAliveTime, @Version by name, and reads result columns by
-- name (quoted below so that PostgreSQL keeps their case). Writes are optimistic: a membership change succeeds
-- only if the table version it read is still current, and bumps it, in one statement.
-- Idempotent: ClusterDatabase.EnsureSchemaAsync runs it under an advisory lock at every silo start.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64)   NOT NULL PRIMARY KEY,
    QueryText varchar(8000) NOT NULL
);

CREATE TABLE IF NOT EXISTS opente_membership_version
(
    deployment_id varchar(150) NOT NULL PRIMARY KEY,
    changed       timestamptz  NOT NULL DEFAULT now(),
    version       integer      NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS opente_membership
(
    deployment_id   varchar(150)  NOT NULL REFERENCES opente_membership_version (deployment_id),
    address         varchar(45)   NOT NULL,
    port            integer       NOT NULL,
    generation      integer       NOT NULL,
    silo_name       varchar(150)  NOT NULL,
    host_name       varchar(150)  NOT NULL,
    status          integer       NOT NULL,   -- Orleans SiloStatus: 3 active, 6 dead
    proxy_port      integer       NULL,       -- the gateway port clients connect to
    suspect_times   varchar(8000) NULL,
    start_time      timestamptz   NOT NULL,
    i_am_alive_time timestamptz   NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO opente_membership_version (deployment_id) VALUES (@DeploymentId)
    ON CONFLICT (deployment_id) DO NOTHING
    RETURNING 1)
SELECT count(*)::integer FROM created
$q$),
('InsertMembershipKey', $q$
WITH bumped AS (
    UPDATE opente_membership_version SET version = version + 1, changed = now()
    WHERE deployment_id = @DeploymentId AND version = @Version AND version < 2147483647
      AND NOT EXISTS (SELECT 1 FROM opente_membership m
                      WHERE m.deployment_id = @DeploymentId AND m.address = @Address
                        AND m.port = @Port AND m.generation = @Generation)
    RETURNING deployment_id),
added AS (
    INSERT INTO opente_membership (deployment_id, address, port, generation, silo_name, host_name, status,
                                   proxy_port, start_time, i_am_alive_time)
    SELECT deployment_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status,
           @ProxyPort, @StartTime, @IAmAliveTime
    FROM bumped
    ON CONFLICT DO NOTHING
    RETURNING 1)
SELECT count(*)::integer FROM added
$q$),
('UpdateMembershipKey', $q$
WITH bumped AS (
    UPDATE opente_membership_version SET version = version + 1, changed = now()
    WHERE deployment_id = @DeploymentId AND version = @Version AND version < 2147483647
      AND EXISTS (SELECT 1 FROM opente_membership m
                  WHERE m.deployment_id = @DeploymentId AND m.address = @Address
                    AND m.port = @Port AND m.generation = @Generation)
    RETURNING deployment_id),
changed AS (
    UPDATE opente_membership m
    SET status = @Status, suspect_times = @SuspectTimes,
        i_am_alive_time = GREATEST(m.i_am_alive_time, @IAmAliveTime)
    FROM bumped b
    WHERE m.deployment_id = b.deployment_id AND m.address = @Address
      AND m.port = @Port AND m.generation = @Generation
    RETURNING 1)
SELECT count(*)::integer FROM changed
$q$),
('UpdateIAmAlivetimeKey', $q$
UPDATE opente_membership SET i_am_alive_time = GREATEST(i_am_alive_time, @IAmAliveTime)
WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation
$q$),
('MembershipReadRowKey', $q$
SELECT v.deployment_id AS "DeploymentId", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
       m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
       m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime",
       v.version AS "Version"
FROM opente_membership_version v
LEFT JOIN opente_membership m
       ON m.deployment_id = v.deployment_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.deployment_id = @DeploymentId
$q$),
('MembershipReadAllKey', $q$
SELECT v.deployment_id AS "DeploymentId", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
       m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
       m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime",
       v.version AS "Version"
FROM opente_membership_version v
LEFT JOIN opente_membership m ON m.deployment_id = v.deployment_id
WHERE v.deployment_id = @DeploymentId
$q$),
('DeleteMembershipTableEntriesKey', $q$
DELETE FROM opente_membership WHERE deployment_id = @DeploymentId;
DELETE FROM opente_membership_version WHERE deployment_id = @DeploymentId
$q$),
('GatewaysQueryKey', $q$
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
FROM opente_membership
WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0
$q$),
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM opente_membership
WHERE deployment_id = @DeploymentId AND status = 6
  AND i_am_alive_time < @IAmAliveTime AND start_time < @IAmAliveTime
$q$),
('CleanupDefunctSiloEntryKey', $q$
DELETE FROM opente_membership
WHERE deployment_id = @DeploymentId AND status = 6
  AND address = @Address AND port = @Port AND generation = @Generation
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
