<?php
/**
 * socialgate's verified claims → the fields of a 1C-Bitrix user, as CSocServAuth::AuthorizeUser
 * takes them. Plain PHP with no Bitrix dependency, so it is tested with the rest.
 */

declare(strict_types=1);

namespace Socialgate;

final class UserFields
{
    /** The user's EXTERNAL_AUTH_ID: which service the account belongs to. */
    public const EXTERNAL_AUTH_ID = 'socialgate';

    /**
     * @param array  $claims the verified id_token's claims (and userinfo's, merged)
     * @param string $siteId the Bitrix site (SITE_ID), or '' outside Bitrix
     * @return array EXTERNAL_AUTH_ID, XML_ID (= `sub`), LOGIN, NAME, LAST_NAME, EMAIL (only
     *               a verified address), PERSONAL_PHOTO_URL (https only; the service turns it
     *               into a file), PERSONAL_GENDER (M/F), SITE_ID; keys without a value are left out
     */
    public static function fromClaims(array $claims, string $siteId = ''): array
    {
        $sub = $claims['sub'] ?? null;
        if (!is_string($sub) || $sub === '') {
            throw new OidcError('the claims have no sub');
        }
        $given = self::text($claims['given_name'] ?? null);
        $family = self::text($claims['family_name'] ?? null);
        $name = self::text($claims['name'] ?? null);
        if ($given === null && $family === null && $name !== null) {
            // Only a display name: it goes whole into NAME.
            $given = $name;
        }
        $fields = [
            'EXTERNAL_AUTH_ID' => self::EXTERNAL_AUTH_ID,
            'XML_ID' => $sub,
            // Unique per account and stable: "ok:575123456789" → "socialgate_ok_575123456789".
            'LOGIN' => 'socialgate_' . preg_replace('/[^A-Za-z0-9_.-]/', '_', $sub),
            'NAME' => $given,
            'LAST_NAME' => $family,
            // An address the network did not vouch for could be anyone's: never link or
            // create an account by it.
            'EMAIL' => ($claims['email_verified'] ?? false) === true ? self::text($claims['email'] ?? null) : null,
            'PERSONAL_PHOTO_URL' => self::httpsUrl($claims['picture'] ?? null),
            'PERSONAL_GENDER' => match ($claims['gender'] ?? null) {
                'male' => 'M',
                'female' => 'F',
                default => null,
            },
            'SITE_ID' => $siteId !== '' ? $siteId : null,
        ];
        return array_filter($fields, fn ($v) => $v !== null);
    }

    private static function text(mixed $value): ?string
    {
        if (!is_string($value)) {
            return null;
        }
        $value = trim($value);
        return $value === '' ? null : $value;
    }

    private static function httpsUrl(mixed $value): ?string
    {
        return is_string($value) && str_starts_with($value, 'https://') ? $value : null;
    }
}
