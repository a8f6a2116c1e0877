-- A booking's reference: six digits the caller is told (and texted) when booking, and says back with the name on
-- the booking to read, cancel or move it from a phone other than the one it is under. Live bookings made before
-- get one here, so staff can tell their callers theirs; a caller calling from the booking's own number needs none.

ALTER TABLE bookings ADD COLUMN reference VARCHAR;
CREATE INDEX bookings_tenant_reference ON bookings (tenant_id, reference);
UPDATE bookings SET reference = lpad(CAST(CAST(floor(random() * 1000000) AS BIGINT) AS VARCHAR), 6, '0')
    WHERE status = 'booked';
